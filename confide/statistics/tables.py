"""The shape of each published table: which cells exist and which equations link them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from confide.statistics.suppression import Equation, is_disclosive

ALL_WEEKS = "all"
Cell = tuple[str, str]  # (week, column name)


@dataclass(frozen=True)
class Column:
    """A published count. `parts` are columns that add up to it in every row."""

    name: str
    parts: tuple[str, ...] = ()


def table_equations(rows: Sequence[str], columns: Sequence[Column]) -> list[Equation[Cell]]:
    """Row equations (a week's total is the sum of its parts) and column equations
    (the all-weeks figure is the sum of the weeks), for cells keyed (row, column name)."""
    equations: list[Equation[Cell]] = [
        Equation(total=(row, column.name), parts=tuple((row, part) for part in column.parts))
        for row in (*rows, ALL_WEEKS)
        for column in columns
        if column.parts
    ]
    equations += [
        Equation(total=(ALL_WEEKS, column.name), parts=tuple((row, column.name) for row in rows))
        for column in columns
        if rows
    ]
    return equations


def cumulative_cells_to_protect(
    cells: Mapping[Cell, int], rows: Sequence[str], columns: Sequence[Column]
) -> frozenset[Cell]:
    """All-weeks cells to hide because of earlier publications.

    The all-weeks row is a running total, republished every week. A reader who kept an earlier
    page knows the total as it was then; today's total minus it is the sum of the weeks added
    since. So an all-weeks figure is hidden while the newest week, or the newest few weeks
    together, add 1 to 4 to it. `rows` are newest first.
    """
    protect = set()
    for column in columns:
        added = 0
        for row in rows[:-1]:
            added += cells[(row, column.name)]
            if is_disclosive(added):
                protect.add((ALL_WEEKS, column.name))
                break
    return frozenset(protect)


CASE_COLUMNS = (
    Column("reached_within_24h"),
    Column("reached_after_24h"),
    Column("not_reached"),
    Column("reached", ("reached_within_24h", "reached_after_24h")),
    Column("transferred", ("reached", "not_reached")),
)
CONTACT_COLUMNS = (
    Column("reached"),
    Column("not_reached"),
    Column("identified", ("reached", "not_reached")),
)
# Isolation support applications (submitted ones) by the week of the case they came from.
SUPPORT_COLUMNS = (
    Column("paid"),
    Column("not_paid"),  # waiting, approved but not yet paid, or rejected
    Column("applications", ("paid", "not_paid")),
)
