"""Property tests: no published cell, nor any difference of published cells, reveals 1-4."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from confide.statistics.suppression import Equation, is_disclosive, suppress
from confide.statistics.tables import (
    ALL_WEEKS,
    CASE_COLUMNS,
    CONTACT_COLUMNS,
    Cell,
    Column,
    cumulative_cells_to_protect,
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


def _week_cells(
    history: list[dict[str, int]], columns: tuple[Column, ...]
) -> tuple[list[str], dict[Cell, int]]:
    """The table as published when `history` (oldest week first) was all there was."""
    rows = [f"week-{index}" for index in range(len(history))][::-1]  # newest first
    cells: dict[Cell, int] = {}
    for index, base in enumerate(history):
        row = f"week-{index}"
        for column in columns:
            cells[(row, column.name)] = (
                sum(cells[(row, part)] for part in column.parts)
                if column.parts
                else base[column.name]
            )
    for column in columns:
        cells[(ALL_WEEKS, column.name)] = sum(cells[(row, column.name)] for row in rows)
    return rows, cells


@st.composite
def weekly_histories(draw: st.DrawFn) -> tuple[tuple[Column, ...], list[dict[str, int]]]:
    columns: tuple[Column, ...] = draw(st.sampled_from([CASE_COLUMNS, CONTACT_COLUMNS]))
    weeks = draw(st.integers(2, 7))
    history = [
        {column.name: draw(counts) for column in columns if not column.parts} for _ in range(weeks)
    ]
    return columns, history


def _publish(
    columns: tuple[Column, ...], history: list[dict[str, int]]
) -> tuple[dict[Cell, int], frozenset[Cell]]:
    """What `weekly_figures` publishes for this history: the cells, and those hidden."""
    rows, cells = _week_cells(history, columns)
    hidden = suppress(
        cells,
        table_equations(rows, columns),
        protect=cumulative_cells_to_protect(cells, rows, columns),
    )
    return cells, hidden


@settings(max_examples=300, deadline=None)
@given(weekly_histories())
def test_the_all_weeks_figure_never_moves_by_one_to_four_between_publications(
    drawn: tuple[tuple[Column, ...], list[dict[str, int]]],
) -> None:
    """A reader who kept every weekly page subtracts last week's running total from this
    week's: that difference, between any two pages, is never 1 to 4."""
    columns, history = drawn
    published: dict[str, list[int]] = {column.name: [] for column in columns}
    for weeks in range(1, len(history) + 1):
        cells, hidden = _publish(columns, history[:weeks])
        for column in columns:
            key = (ALL_WEEKS, column.name)
            if key not in hidden:
                for earlier in published[column.name]:
                    assert not is_disclosive(cells[key] - earlier), (column.name, weeks)
                published[column.name].append(cells[key])


@settings(max_examples=300, deadline=None)
@given(weekly_histories())
def test_a_protected_running_total_cannot_be_solved_from_the_page(
    drawn: tuple[tuple[Column, ...], list[dict[str, int]]],
) -> None:
    columns, history = drawn
    rows, cells = _week_cells(history, columns)
    equations = table_equations(rows, columns)
    protect = cumulative_cells_to_protect(cells, rows, columns)

    hidden = suppress(cells, equations, protect=protect)

    assert protect <= hidden
    assert not (determined_cells(cells, equations, hidden) & protect)


def test_a_quiet_newest_week_hides_the_running_total_it_would_give_away() -> None:
    history = [{"reached": 20, "not_reached": 10}, {"reached": 3, "not_reached": 0}]
    _, hidden = _publish(CONTACT_COLUMNS, history)

    assert (ALL_WEEKS, "reached") in hidden, "23 - 20 last week would show 3"
    assert (ALL_WEEKS, "not_reached") not in hidden, "0 added: nothing to hide"
