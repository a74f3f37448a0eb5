"""Bar geometry for the server-drawn SVG chart: the page has no JavaScript, and CSP forbids
inline styles, so the template draws bars from these numbers with SVG attributes only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from confide.statistics.publication import WeeklyRow

WIDTH = 640
HEIGHT = 240
LEFT = 48
BOTTOM = 32
TOP = 16
# Beyond this the week labels overlap; the tables carry every week.
CHART_WEEKS = 12


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    x: float
    y: float
    width: float
    height: float
    text_x: float
    suppressed: bool


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline_y: float
    left: int
    maximum: int
    bars: tuple[Bar, ...]


def cases_transferred_chart(rows: Sequence[WeeklyRow]) -> Chart:
    """Cases transferred a week, the latest weeks, oldest on the left; a suppressed week
    has no bar."""
    weeks = [row for row in rows if row.week != "all"][:CHART_WEEKS][::-1]
    numbers = [row.cases_transferred for row in weeks]
    maximum = max((value for value in numbers if isinstance(value, int)), default=0)
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(len(weeks), 1)
    bars = []
    for index, row in enumerate(weeks):
        value = row.cases_transferred
        shown = value if isinstance(value, int) else 0
        height = plot_height * shown / (maximum or 1)
        x = LEFT + index * slot + slot * 0.15
        bars.append(
            Bar(
                label=row.week,
                value_text=str(value),
                x=round(x, 1),
                y=round(TOP + plot_height - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                text_x=round(x + slot * 0.35, 1),
                suppressed=not isinstance(value, int),
            )
        )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        baseline_y=HEIGHT - BOTTOM,
        left=LEFT,
        maximum=maximum,
        bars=tuple(bars),
    )
