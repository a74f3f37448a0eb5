"""Small-number suppression for published tables: no count of 1 to 4 people can be read off.

A table is a set of cells (counts) and the equations that hold between them because both
sides are published: a week's total is the sum of its categories, an "all weeks" figure is the
sum of the weeks. A reader who sees every published cell can solve any equation with one
unknown, and can read the *sum* of the unknowns of an equation whose total is published.

Hand-written rather than a library: the statistical-disclosure tools (sdcTable, tau-argus) are
R/Java programs; our tables are small and the rule fits in two loops (numpy does the algebra).

What `suppress` guarantees, for every cell and every equation it is given:
1. a cell whose count is 1 to 4 is suppressed (primary suppression);
2. no equation is left with exactly one suppressed cell, so no cell can be recovered from a
   single equation (secondary suppression);
3. where an equation's total is published, its suppressed parts add up to 0 or to 5 or more,
   so "total minus the published parts" never reveals 1 to 4 people;
4. zero is published as 0 unless it is needed as a secondary suppression: that no one was
   reached is not a fact about any person.
5. no suppressed count of 1 to 4 can be worked out exactly by combining all the equations
   (linear algebra over the published cells, `solvable`): if one could, another cell is hidden.
6. cells the caller asks to `protect` (a running total whose change since an earlier
   publication would be 1 to 4: see tables.running_totals_to_protect) are suppressed and, like
   small counts, cannot be worked out exactly from the equations.
7. cells an earlier publication already settled (`shown_before`, `hidden_before`) keep their
   state: secondary suppression only ever hides a cell being published for the first time.
It does not promise that every *sum* of suppressed cells spread over several equations is
outside 1 to 4, nor defend against bounds a reader could infer from counts being non-negative.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

Key = TypeVar("Key", bound=Hashable)

SMALLEST_PUBLISHED = 5
SUPPRESSED = "[c]"


@dataclass(frozen=True)
class Equation(Generic[Key]):
    """Published cells known to satisfy `total == sum(parts)`."""

    total: Key
    parts: tuple[Key, ...]


def is_disclosive(count: int) -> bool:
    return 0 < count < SMALLEST_PUBLISHED


def suppress(
    cells: Mapping[Key, int],
    equations: Sequence[Equation[Key]],
    *,
    protect: Collection[Key] = frozenset(),
    shown_before: Collection[Key] = frozenset(),
    hidden_before: Collection[Key] = frozenset(),
) -> frozenset[Key]:
    """The keys of `cells` that must not be published.

    Cells an earlier publication settled cannot change: `hidden_before` stay hidden and
    `shown_before` stay shown (readers have them), but both still count in the algebra."""
    settled = set(shown_before) | set(hidden_before)
    new_small = {key for key, count in cells.items() if is_disclosive(count)} - settled
    hidden = new_small | (set(protect) - settled) | set(hidden_before)
    # An equation of settled cells only was made safe when they were published; with a long
    # history most equations are such, and only the algebra below still needs them.
    open_equations = [
        equation
        for equation in equations
        if any(key not in settled for key in (equation.total, *equation.parts))
    ]
    while True:
        changed = True
        while changed:
            changed = False
            for equation in open_equations:
                extra = _cell_to_hide(cells, equation, hidden, settled)
                if extra is not None:
                    hidden.add(extra)
                    changed = True
        exposed = [
            key
            for key in solvable(equations, hidden)
            if is_disclosive(cells[key]) or key in protect
        ]
        extra = _cell_to_protect(cells, equations, hidden, exposed[0], settled) if exposed else None
        if extra is None:
            return frozenset(hidden)
        hidden.add(extra)


def solvable(equations: Sequence[Equation[Key]], hidden: set[Key] | frozenset[Key]) -> set[Key]:
    """Hidden cells a reader could work out exactly by combining all the equations.

    A cell is determined when every solution of the system agrees on it: its coordinate is
    zero in every vector of the null space of the equations restricted to the hidden cells.
    """
    unknowns = sorted(hidden, key=repr)
    if not unknowns:
        return set()
    position = {key: index for index, key in enumerate(unknowns)}
    touching = [
        equation
        for equation in equations
        if equation.total in position or any(part in position for part in equation.parts)
    ]
    # At least as many rows as unknowns, so the reduced SVD still gives the whole null space
    # (the full one would also build a square matrix as tall as a long history's equations).
    matrix = np.zeros((max(len(touching), len(unknowns)), len(unknowns)))
    for row, equation in enumerate(touching):
        if equation.total in position:
            matrix[row, position[equation.total]] += 1
        for part in equation.parts:
            if part in position:
                matrix[row, position[part]] -= 1
    _, singular_values, right = np.linalg.svd(matrix, full_matrices=False)
    rank = int((singular_values > 1e-9).sum())
    null_space = right[rank:].T
    return {key for key in unknowns if np.allclose(null_space[position[key]], 0, atol=1e-9)}


def _cell_to_protect(
    cells: Mapping[Key, int],
    equations: Sequence[Equation[Key]],
    hidden: set[Key],
    exposed: Key,
    settled: set[Key],
) -> Key | None:
    """A published cell to hide so that `exposed` is no longer determined: the smallest
    non-zero published cell of an equation it appears in (or, when every such cell was
    settled by an earlier publication, of any equation)."""
    candidates = {
        key
        for equation in equations
        if exposed == equation.total or exposed in equation.parts
        for key in (equation.total, *equation.parts)
        if key not in hidden and key not in settled
    } or {key for key in cells if key not in hidden and key not in settled}
    if not candidates:
        return None
    return min(candidates, key=lambda key: (cells[key] == 0, cells[key], repr(key)))


def _cell_to_hide(
    cells: Mapping[Key, int], equation: Equation[Key], hidden: set[Key], settled: set[Key]
) -> Key | None:
    members = (equation.total, *equation.parts)
    unknown = [key for key in members if key in hidden]
    hidden_parts_sum = sum(cells[key] for key in equation.parts if key in hidden)
    leaks_one_cell = len(unknown) == 1
    leaks_small_sum = equation.total not in hidden and is_disclosive(hidden_parts_sum)
    if not (leaks_one_cell or leaks_small_sum):
        return None
    shown_parts = [key for key in equation.parts if key not in hidden and key not in settled]
    # The smallest non-zero part protects the sum (every shown non-zero count is 5 or more);
    # a zero would add nothing. With none left, hide the total instead.
    candidates = [key for key in shown_parts if cells[key] > 0] or (
        shown_parts if leaks_one_cell and not leaks_small_sum else []
    )
    if candidates:
        return min(candidates, key=lambda key: (cells[key], str(key)))
    if equation.total not in hidden and equation.total not in settled:
        return equation.total
    return None
