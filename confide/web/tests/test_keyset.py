"""Keyset pagination: every row exactly once, in order, whatever the page size, and a cursor
that was not given out is refused rather than trusted."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confide.cases.models import Case
from confide.cases.tests.factories import CaseFactory
from confide.web.keyset import InvalidCursor, keyset_page

pytestmark = pytest.mark.django_db


def walk(order: tuple[str, ...], size: int) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        page = keyset_page(Case.objects.all(), order=order, size=size, after=after)
        seen += [case.pk for case in page.items]
        if not page.has_next:
            return seen
        after = page.next_cursor


def test_pages_in_id_order_hold_every_case_once() -> None:
    cases = [CaseFactory.create() for _ in range(7)]
    assert walk(("pk",), 3) == [c.pk for c in cases]


def test_pages_ordered_by_a_shared_timestamp_break_ties_by_id() -> None:
    cases = [CaseFactory.create() for _ in range(5)]
    Case.objects.update(created_at=cases[0].created_at)  # every key but the id ties
    assert walk(("-created_at", "-pk"), 2) == sorted((c.pk for c in cases), reverse=True)


@settings(max_examples=15, deadline=None)
@given(size=st.integers(min_value=1, max_value=6))
def test_any_page_size_walks_the_whole_list(size: int) -> None:
    if not Case.objects.exists():
        for _ in range(6):
            CaseFactory.create()
    expected = list(Case.objects.order_by("specimen_date", "pk").values_list("pk", flat=True))
    assert walk(("specimen_date", "pk"), size) == expected


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WzEsMl0", "eyJhIjoxfQ", "x" * 500])
def test_a_cursor_this_list_did_not_give_out_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        keyset_page(Case.objects.all(), order=("created_at", "pk"), size=2, after=cursor)


def test_a_mixed_ordering_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="all ascending or all descending"):
        keyset_page(Case.objects.all(), order=("created_at", "-pk"), size=2)
