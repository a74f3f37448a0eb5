"""What one weekly publication shows, worked out from the weeks published before it.

Pure: no database. `publish` takes the history (every earlier publication, oldest first) and
the true counts of the week being added, and returns the new publication: the rows readers
see and the cells it hid for the first time. Earlier weeks are frozen: their rows are copied
from the previous publication unchanged, and suppression may only hide cells that are new
(the new week and the new all-weeks row), while still solving the whole history's equations,
so a reader who kept every page learns no count of 1 to 4 (docs/statistics.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from confide.statistics.suppression import SUPPRESSED, suppress
from confide.statistics.tables import (
    ALL_WEEKS,
    CASE_COLUMNS,
    CONTACT_COLUMNS,
    SUPPORT_COLUMNS,
    Cell,
    Column,
    history_equations,
    running_total,
    running_totals_to_protect,
)

# Bump when what is counted or how it is suppressed changes; each publication records it.
METHOD = "weekly-frozen-1"
TABLES: dict[str, tuple[Column, ...]] = {
    "cases": CASE_COLUMNS,
    "contacts": CONTACT_COLUMNS,
    "support": SUPPORT_COLUMNS,
}
# A median from fewer times than this is suppressed, like a count.
FEWEST_TIMES_FOR_MEDIAN = 5

Figure = int | float | str | None  # a number, SUPPRESSED, or None for "no data"

PUBLISHED_FIELDS = (
    "cases_transferred",
    "cases_reached",
    "cases_reached_percent",
    "cases_reached_within_24h",
    "cases_reached_within_24h_percent",
    "contacts_identified",
    "contacts_reached",
    "contacts_reached_percent",
    "contacts_median_hours_to_reach",
    "support_applications",
    "support_payments",
)


@dataclass(frozen=True)
class WeeklyRow:
    """One week's published figures (or the all-weeks row), already suppressed."""

    week: str  # "2021-W02" or "all"
    week_starts_on: date | None
    cases_transferred: Figure
    cases_reached: Figure
    cases_reached_percent: Figure
    cases_reached_within_24h: Figure
    cases_reached_within_24h_percent: Figure
    contacts_identified: Figure
    contacts_reached: Figure
    contacts_reached_percent: Figure
    contacts_median_hours_to_reach: Figure
    support_applications: Figure
    support_payments: Figure

    def as_dict(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "week_starts_on": self.week_starts_on.isoformat() if self.week_starts_on else None,
            **{name: getattr(self, name) for name in PUBLISHED_FIELDS},
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> WeeklyRow:
        starts = stored["week_starts_on"]
        return cls(
            week=stored["week"],
            week_starts_on=date.fromisoformat(starts) if starts else None,
            **{name: stored[name] for name in PUBLISHED_FIELDS},
        )


@dataclass(frozen=True)
class WeekCounts:
    """One week's true counts, before suppression: stored with its publication as the input of
    later ones, never shown. Keys are each table's columns without parts."""

    week: str
    cases: dict[str, int]
    contacts: dict[str, int]
    support: dict[str, int]
    # Hours from a contact's recording to reaching them, in tenths of an hour: a histogram
    # keeps a week's times small to store, and the all-weeks median needs every week's.
    tenths_of_hours_to_reach: dict[int, int] = field(default_factory=dict)

    def table(self, name: str) -> dict[str, int]:
        counts: dict[str, int] = getattr(self, name)
        return counts

    def as_json(self) -> dict[str, Any]:
        return {
            "week": self.week,
            **{name: self.table(name) for name in TABLES},
            "tenths_of_hours_to_reach": {
                str(tenths): number for tenths, number in self.tenths_of_hours_to_reach.items()
            },
        }

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> WeekCounts:
        return cls(
            week=stored["week"],
            cases=dict(stored["cases"]),
            contacts=dict(stored["contacts"]),
            support=dict(stored["support"]),
            tenths_of_hours_to_reach={
                int(tenths): number for tenths, number in stored["tenths_of_hours_to_reach"].items()
            },
        )


@dataclass(frozen=True)
class Issued:
    """One publication: the week it added (with its true counts), the cells of each table it
    hid first, and the rows it shows (newest week first, then the all-weeks row)."""

    counts: WeekCounts
    first_hidden: dict[str, frozenset[Cell]]
    rows: tuple[WeeklyRow, ...]


def week_starts_on(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def history_cells(
    weekly: Sequence[Mapping[str, int]], weeks: Sequence[str], columns: Sequence[Column]
) -> dict[Cell, int]:
    """Every cell of a table's history: each week's, totals included, and each publication's
    running total, for `weeks` oldest first and their leaf counts `weekly`."""
    cells: dict[Cell, int] = {}
    for week, counts in zip(weeks, weekly, strict=True):
        for column in columns:
            cells[(week, column.name)] = (
                sum(cells[(week, part)] for part in column.parts)
                if column.parts
                else counts.get(column.name, 0)
            )
    for column in columns:
        total = 0
        for week in weeks:
            total += cells[(week, column.name)]
            cells[(running_total(week), column.name)] = total
    return cells


def _median_hours(tenths: Mapping[int, int]) -> float | None:
    values = sorted(tenths.items())
    count = sum(number for _, number in values)
    if not count:
        return None
    middle = {(count - 1) // 2, count // 2}
    picked, seen = [], 0
    for value, number in values:
        picked += [value for position in range(seen, seen + number) if position in middle]
        seen += number
    return round(sum(picked) / len(picked) / 10, 1)


def _row(
    week: str,
    key_row: str,
    cells: Mapping[str, Mapping[Cell, int]],
    hidden: Mapping[str, frozenset[Cell]],
    tenths: Mapping[int, int],
) -> WeeklyRow:
    def shown(table: str, column: str) -> Figure:
        key = (key_row, column)
        return SUPPRESSED if key in hidden[table] else cells[table][key]

    def percent(table: str, part: str, whole: str) -> Figure:
        part_key, whole_key = (key_row, part), (key_row, whole)
        if part_key in hidden[table] or whole_key in hidden[table]:
            return SUPPRESSED
        if cells[table][whole_key] == 0:
            return None
        return round(100 * cells[table][part_key] / cells[table][whole_key], 1)

    times = sum(tenths.values())
    median: Figure = _median_hours(tenths)
    if times and ((key_row, "reached") in hidden["contacts"] or times < FEWEST_TIMES_FOR_MEDIAN):
        median = SUPPRESSED
    return WeeklyRow(
        week=week,
        week_starts_on=None if week == ALL_WEEKS else week_starts_on(week),
        cases_transferred=shown("cases", "transferred"),
        cases_reached=shown("cases", "reached"),
        cases_reached_percent=percent("cases", "reached", "transferred"),
        cases_reached_within_24h=shown("cases", "reached_within_24h"),
        cases_reached_within_24h_percent=percent("cases", "reached_within_24h", "transferred"),
        contacts_identified=shown("contacts", "identified"),
        contacts_reached=shown("contacts", "reached"),
        contacts_reached_percent=percent("contacts", "reached", "identified"),
        contacts_median_hours_to_reach=median,
        support_applications=shown("support", "applications"),
        support_payments=shown("support", "paid"),
    )


def publish(history: Sequence[Issued], counts: WeekCounts) -> Issued:
    """The publication that adds `counts.week` after `history` (oldest first; only the last
    one's rows are read). The new week must follow the last published one."""
    weeks = [issued.counts.week for issued in history] + [counts.week]
    weekly = [issued.counts for issued in history] + [counts]
    newest_total = running_total(counts.week)
    cells: dict[str, dict[Cell, int]] = {}
    hidden: dict[str, frozenset[Cell]] = {}
    first_hidden: dict[str, frozenset[Cell]] = {}
    for table, columns in TABLES.items():
        table_cells = history_cells([week.table(table) for week in weekly], weeks, columns)
        new = {(row, column.name) for row in (counts.week, newest_total) for column in columns}
        hidden_before = frozenset[Cell]().union(*(issued.first_hidden[table] for issued in history))
        hidden[table] = suppress(
            table_cells,
            history_equations(weeks, columns),
            protect=running_totals_to_protect(table_cells, weeks, columns, hidden_before),
            shown_before=set(table_cells) - new - hidden_before,
            hidden_before=hidden_before,
        )
        first_hidden[table] = hidden[table] & new
        cells[table] = table_cells
    all_tenths: Counter[int] = Counter()
    for week in weekly:
        all_tenths.update(week.tenths_of_hours_to_reach)
    earlier_weeks = history[-1].rows[:-1] if history else ()
    return Issued(
        counts=counts,
        first_hidden=first_hidden,
        rows=(
            _row(counts.week, counts.week, cells, hidden, counts.tenths_of_hours_to_reach),
            *earlier_weeks,
            _row(ALL_WEEKS, newest_total, cells, hidden, all_tenths),
        ),
    )
