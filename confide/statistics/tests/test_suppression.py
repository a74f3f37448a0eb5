"""Property tests: no published cell, nor any difference of published cells on one page or
across every weekly publication, reveals 1-4."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from confide.statistics.publication import TABLES, Issued, WeekCounts, history_cells, publish
from confide.statistics.suppression import SUPPRESSED, Equation, is_disclosive, suppress
from confide.statistics.tables import (
    ALL_WEEKS,
    CASE_COLUMNS,
    CONTACT_COLUMNS,
    Cell,
    Column,
    history_equations,
    running_total,
    table_equations,
)

# Small counts dominate, as in a quiet week: that is where suppression has work to do.
counts = st.one_of(st.integers(0, 6), st.integers(0, 60))


@st.composite
def tables(
    draw: st.DrawFn,
) -> tuple[dict[Cell, int], list[Equation[Cell]]]:
    columns: tuple[Column, ...] = draw(st.sampled_from([CASE_COLUMNS, CONTACT_COLUMNS]))
    rows = [f"week-{index}" for index in range(draw(st.integers(1, 6)))]
    cells: dict[Cell, int] = {}
    for row in rows:
        for column in columns:
            if column.parts:
                cells[(row, column.name)] = sum(cells[(row, part)] for part in column.parts)
            else:
                cells[(row, column.name)] = draw(counts)
    for column in columns:
        cells[(ALL_WEEKS, column.name)] = sum(cells[(row, column.name)] for row in rows)
    return cells, table_equations(rows, columns)


def determined_cells(
    cells: dict[Cell, int], equations: Sequence[Equation[Cell]], hidden: frozenset[Cell]
) -> set[Cell]:
    """Suppressed cells a reader could solve for exactly from all equations together."""
    unknowns = sorted(hidden, key=str)
    if not unknowns:
        return set()
    index = {key: position for position, key in enumerate(unknowns)}
    rows = []
    for equation in equations:
        row = np.zeros(len(unknowns))
        if equation.total in index:
            row[index[equation.total]] = 1
        for part in equation.parts:
            if part in index:
                row[index[part]] -= 1
        if row.any():
            rows.append(row)
    system = np.array(rows) if rows else np.zeros((0, len(unknowns)))
    rank = np.linalg.matrix_rank(system) if rows else 0
    determined = set()
    for key, position in index.items():
        unit = np.zeros((1, len(unknowns)))
        unit[0, position] = 1
        if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:
            determined.add(key)
    return determined


@settings(max_examples=500, deadline=None)
@given(tables())
def test_no_published_cell_is_between_one_and_four(
    table: tuple[dict[Cell, int], list[Equation[Cell]]],
) -> None:
    cells, equations = table
    hidden = suppress(cells, equations)
    assert not any(is_disclosive(count) for key, count in cells.items() if key not in hidden)


@settings(max_examples=500, deadline=None)
@given(tables())
def test_no_equation_leaves_exactly_one_suppressed_cell(
    table: tuple[dict[Cell, int], list[Equation[Cell]]],
) -> None:
    cells, equations = table
    hidden = suppress(cells, equations)
    for equation in equations:
        assert sum(key in hidden for key in (equation.total, *equation.parts)) != 1


@settings(max_examples=500, deadline=None)
@given(tables())
def test_a_published_total_minus_its_published_parts_is_never_one_to_four(
    table: tuple[dict[Cell, int], list[Equation[Cell]]],
) -> None:
    cells, equations = table
    hidden = suppress(cells, equations)
    for equation in equations:
        if equation.total not in hidden:
            published = sum(cells[part] for part in equation.parts if part not in hidden)
            assert not is_disclosive(cells[equation.total] - published)


@settings(max_examples=500, deadline=None)
@given(tables())
def test_no_suppressed_small_count_can_be_solved_from_all_equations_together(
    table: tuple[dict[Cell, int], list[Equation[Cell]]],
) -> None:
    cells, equations = table
    hidden = suppress(cells, equations)
    solvable = determined_cells(cells, equations, hidden)
    assert not [key for key in solvable if is_disclosive(cells[key])]


@settings(max_examples=300, deadline=None)
@given(tables())
def test_a_table_with_no_small_counts_is_published_whole(
    table: tuple[dict[Cell, int], list[Equation[Cell]]],
) -> None:
    cells, equations = table
    if any(is_disclosive(count) for count in cells.values()):
        return
    assert suppress(cells, equations) == frozenset()


def test_zero_is_published() -> None:
    cells = {"total": 12, "a": 0, "b": 12}
    assert suppress(cells, [Equation("total", ("a", "b"))]) == frozenset()


def test_one_small_cell_takes_the_smallest_other_part_with_it() -> None:
    cells = {"total": 30, "a": 3, "b": 0, "c": 7, "d": 20}
    assert suppress(cells, [Equation("total", ("a", "b", "c", "d"))]) == {"a", "c"}


def test_a_small_count_solvable_only_by_combining_equations_is_protected() -> None:
    """Found by hypothesis: each equation alone was safe, together they gave away a 1."""
    base = {  # week: (within 24 h, after 24 h, not reached)
        "week-0": (0, 0, 0),
        "week-1": (0, 1, 5),
        "week-2": (3, 0, 0),
        "week-3": (2, 0, 0),
    }
    cells: dict[Cell, int] = {}
    for week, (within, after, missed) in base.items():
        cells |= {
            (week, "reached_within_24h"): within,
            (week, "reached_after_24h"): after,
            (week, "not_reached"): missed,
            (week, "reached"): within + after,
            (week, "transferred"): within + after + missed,
        }
    for column in CASE_COLUMNS:
        cells[(ALL_WEEKS, column.name)] = sum(cells[(week, column.name)] for week in base)
    equations = table_equations(list(base), CASE_COLUMNS)

    hidden = suppress(cells, equations)

    solvable = determined_cells(cells, equations, hidden)
    assert not [key for key in solvable if is_disclosive(cells[key])]


@settings(max_examples=500, deadline=None)
@given(tables())
def test_no_two_published_cells_in_a_sum_relation_differ_by_one_to_four(
    table: tuple[dict[Cell, int], list[Equation[Cell]]],
) -> None:
    """A total and any one of its parts (a week's columns; the all-weeks figure and a week),
    and any two parts of one total, both published: their difference is 0 or at least 5."""
    cells, equations = table
    hidden = suppress(cells, equations)
    for equation in equations:
        if equation.total not in hidden:
            for part in equation.parts:
                if part not in hidden:
                    assert not is_disclosive(cells[equation.total] - cells[part])


@st.composite
def week_histories(draw: st.DrawFn) -> list[WeekCounts]:
    """The true counts of 1 to 7 consecutive weeks, small counts favoured."""
    weeks = []
    for index in range(draw(st.integers(1, 7))):
        times = draw(st.lists(st.integers(0, 480), max_size=8))
        weeks.append(
            WeekCounts(
                week=f"2021-W{index + 1:02d}",
                **{
                    table: {column.name: draw(counts) for column in columns if not column.parts}
                    for table, columns in TABLES.items()
                },
                tenths_of_hours_to_reach=dict(Counter(times)),
            )
        )
    return weeks


def publish_every_week(history: list[WeekCounts]) -> list[Issued]:
    """Each week published in turn, as the weekly job does."""
    issued: list[Issued] = []
    for counts in history:
        issued.append(publish(issued, counts))
    return issued


# The counts of each table a publication shows (the others are implied by its equations).
SHOWN_COUNTS = {
    "cases": {
        "transferred": "cases_transferred",
        "reached": "cases_reached",
        "reached_within_24h": "cases_reached_within_24h",
    },
    "contacts": {"identified": "contacts_identified", "reached": "contacts_reached"},
    "support": {"applications": "support_applications", "paid": "support_payments"},
}


@settings(max_examples=300, deadline=None)
@given(week_histories())
def test_no_publication_shows_a_count_of_one_to_four(history: list[WeekCounts]) -> None:
    for publication in publish_every_week(history):
        for row in publication.rows:
            for fields in SHOWN_COUNTS.values():
                for field in fields.values():
                    value = getattr(row, field)
                    assert not (isinstance(value, int) and is_disclosive(value)), (row, field)


@settings(max_examples=300, deadline=None)
@given(week_histories())
def test_a_published_week_is_never_changed_by_a_later_publication(
    history: list[WeekCounts],
) -> None:
    published = publish_every_week(history)
    for earlier, later in itertools.pairwise(published):
        assert later.rows[1:-1] == earlier.rows[:-1]


@settings(max_examples=300, deadline=None)
@given(week_histories())
def test_the_all_weeks_figure_never_moves_by_one_to_four_between_publications(
    history: list[WeekCounts],
) -> None:
    """A reader who kept every weekly page subtracts one running total from another: no two
    all-weeks figures shown, on any two pages, differ by 1 to 4."""
    published = publish_every_week(history)
    for fields in SHOWN_COUNTS.values():
        for field in fields.values():
            shown = [
                value
                for issued in published
                if isinstance(value := getattr(issued.rows[-1], field), int)
            ]
            for earlier, later in itertools.combinations(shown, 2):
                assert not is_disclosive(later - earlier), (field, shown)


@settings(max_examples=300, deadline=None)
@given(week_histories())
def test_nothing_hidden_and_small_can_be_solved_from_every_page_together(
    history: list[WeekCounts],
) -> None:
    """Everything every publication showed, and every equation between its cells (weeks, and
    each page's running total): no hidden count of 1 to 4 is determined, and no hidden
    running total within 1 to 4 of a shown one is determined."""
    published = publish_every_week(history)
    weeks = [counts.week for counts in history]
    for table, columns in TABLES.items():
        cells = history_cells([counts.table(table) for counts in history], weeks, columns)
        hidden = frozenset[Cell]().union(*(issued.first_hidden[table] for issued in published))
        assert not [key for key in cells if key not in hidden and is_disclosive(cells[key])]
        determined = determined_cells(cells, history_equations(weeks, columns), hidden)
        assert not [key for key in determined if is_disclosive(cells[key])], table
        totals = [(running_total(week), column.name) for week in weeks for column in columns]
        for key in determined & set(totals):
            for other in totals:
                if other[1] == key[1] and other not in hidden:
                    assert not is_disclosive(abs(cells[key] - cells[other])), (table, key)


@settings(max_examples=300, deadline=None)
@given(week_histories())
def test_each_page_keeps_the_single_table_guarantees(history: list[WeekCounts]) -> None:
    """On each new page, every equation with a newly published cell: never exactly one hidden
    cell, and a shown total minus its shown parts is never 1 to 4."""
    published = publish_every_week(history)
    for newest in range(len(published)):
        weeks = [counts.week for counts in history[: newest + 1]]
        for table, columns in TABLES.items():
            cells = history_cells(
                [counts.table(table) for counts in history[: newest + 1]], weeks, columns
            )
            hidden = frozenset[Cell]().union(
                *(earlier.first_hidden[table] for earlier in published[: newest + 1])
            )
            new = {
                (row, column.name)
                for row in (weeks[-1], running_total(weeks[-1]))
                for column in columns
            }
            for equation in history_equations(weeks, columns):
                members = (equation.total, *equation.parts)
                if not new & set(members):
                    continue
                assert sum(key in hidden for key in members) != 1, (table, equation)
                if equation.total not in hidden:
                    shown = sum(cells[part] for part in equation.parts if part not in hidden)
                    assert not is_disclosive(cells[equation.total] - shown), (table, equation)


def _contacts_week(week: str, reached: int, not_reached: int) -> WeekCounts:
    return WeekCounts(
        week=week,
        cases={},
        contacts={"reached": reached, "not_reached": not_reached},
        support={},
    )


def test_a_quiet_newest_week_hides_the_running_total_the_last_page_would_give_away() -> None:
    first = publish([], _contacts_week("2021-W01", 20, 10))
    second = publish([first], _contacts_week("2021-W02", 3, 0))

    assert first.rows[-1].contacts_reached == 20
    assert second.rows[-1].contacts_reached == SUPPRESSED, "23 - 20 on last week's page: 3"
    assert second.rows[0].contacts_reached == SUPPRESSED


def test_a_running_total_is_compared_with_the_last_one_shown_not_the_last_one() -> None:
    """Found by reading the stored pages: week 2 hid its running total (21 after 20 would show
    1), so week 3's total of 26 is compared with 20, on a page readers kept, not with 21."""
    first = publish([], _contacts_week("2021-W01", 20, 10))
    second = publish([first], _contacts_week("2021-W02", 1, 10))
    third = publish([first, second], _contacts_week("2021-W03", 5, 10))

    assert second.rows[-1].contacts_reached == SUPPRESSED
    assert third.rows[-1].contacts_reached == 26, "26 - 20 = 6 reveals no small count"
    assert third.rows[0].contacts_reached == SUPPRESSED, "26 - 20 - 5 would give week 2's 1"
