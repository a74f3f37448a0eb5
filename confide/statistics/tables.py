"""The shape of each published table: which cells exist and which equations link them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from confide.statistics.suppression import Equation

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
