"""The shape of each published table: which cells exist and which equations link them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from confide.statistics.suppression import SMALLEST_PUBLISHED, Equation, is_disclosive

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


# Steps from one running total to another that would reveal 1 to 4 (either way round).
_NEAR = tuple(step for size in range(1, SMALLEST_PUBLISHED) for step in (size, -size))


def running_total(week: str) -> str:
    """The row name of the all-weeks figures as the publication of `week` showed them."""
    return f"{ALL_WEEKS}@{week}"


def history_equations(weeks: Sequence[str], columns: Sequence[Column]) -> list[Equation[Cell]]:
    """Everything a reader who kept every publication knows, for `weeks` oldest first: each
    week's row equations, and for each publication its all-weeks row (a running total) with
    its row equations and its column equations. Weeks are frozen once published, so each week
    is one set of cells.

    The newest page's column equations are written as that page shows them (the total is the
    sum of the weeks); earlier pages' as the same knowledge in three terms (a running total
    is the one before plus its new week), so the system grows linearly with the history."""
    equations: list[Equation[Cell]] = [
        Equation(total=(row, column.name), parts=tuple((row, part) for part in column.parts))
        for row in (*weeks, *(running_total(week) for week in weeks))
        for column in columns
        if column.parts
    ]
    for position, week in enumerate(weeks[:-1]):
        before = (running_total(weeks[position - 1]),) if position else ()
        equations += [
            Equation(
                total=(running_total(week), column.name),
                parts=tuple((row, column.name) for row in (*before, week)),
            )
            for column in columns
        ]
    if weeks:
        equations += [
            Equation(
                total=(running_total(weeks[-1]), column.name),
                parts=tuple((row, column.name) for row in weeks),
            )
            for column in columns
        ]
    return equations


def running_totals_to_protect(
    cells: Mapping[Cell, int],
    weeks: Sequence[str],
    columns: Sequence[Column],
    hidden_before: Collection[Cell],
) -> frozenset[Cell]:
    """Running totals that must stay hidden and unsolvable, reading the earlier publications.

    A reader who kept an earlier page subtracts its all-weeks figure from today's. So the
    newest running total (the last of `weeks`, oldest first) is hidden when it is 1 to 4 more
    than one an earlier publication showed, and an earlier hidden one stays unsolvable when it
    is within 1 to 4 of any other."""
    protect = set()
    for column in columns:
        totals = [(running_total(week), column.name) for week in weeks]
        newest = totals[-1]
        shown_earlier = [key for key in totals[:-1] if key not in hidden_before]
        if any(is_disclosive(cells[newest] - cells[key]) for key in shown_earlier):
            protect.add(newest)
        values = Counter(cells[key] for key in totals)
        for key in totals[:-1]:
            if key in hidden_before and any(values[cells[key] + step] for step in _NEAR):
                protect.add(key)
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
