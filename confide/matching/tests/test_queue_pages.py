"""The review queue is a keyset-paginated list: a page of the oldest, then the next page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from confide.matching.models import MatchReview
from confide.matching.selectors import open_reviews
from confide.people.tests.factories import PersonFactory
from confide.staff.models import Role
from confide.staff.tests.factories import StaffMemberFactory, record_in_date_training
from confide.web.keyset import InvalidCursor
from confide.workspace.tests.conftest import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor_client(settings: object) -> Client:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
    member = StaffMemberFactory.create(role=Role.SUPERVISOR)
    record_in_date_training(member)
    return sign_in(Client(), member)


def waiting_reviews(count: int) -> list[MatchReview]:
    """`count` open reviews, oldest first, a minute apart."""
    people = PersonFactory.create_batch(count + 1)
    start = timezone.now() - timedelta(days=1)
    reviews = []
    for n in range(count):
        review = MatchReview.objects.create(
            person=people[n + 1], candidate=people[n], score=0.9, source="result"
        )
        MatchReview.objects.filter(pk=review.pk).update(created_at=start + timedelta(minutes=n))
        reviews.append(review)
    return reviews


def test_the_queue_pages_through_every_waiting_review_oldest_first_once_each() -> None:
    reviews = waiting_reviews(5)

    seen, after = [], None
    while True:
        page = open_reviews(after=after, size=2)
        seen += [review.pk for review in page.items]
        if not page.has_next:
            break
        after = page.next_cursor

    assert seen == [review.pk for review in reviews]


def test_the_queue_page_links_to_the_next_page_of_older_reviews(
    supervisor_client: Client, settings: object
) -> None:
    reviews = waiting_reviews(3)
    first = open_reviews(size=2)
    assert first.next_cursor is not None

    html = supervisor_client.get(f"/supervise/matches/?after={first.next_cursor}").content.decode()

    shown = [int(pk) for pk in re.findall(r"Compare match (\d+)", html)]
    assert shown == [reviews[2].pk]


def test_a_cursor_the_queue_did_not_give_out_is_not_found(supervisor_client: Client) -> None:
    with pytest.raises(InvalidCursor):
        open_reviews(after="not-a-cursor")
    assert supervisor_client.get("/supervise/matches/?after=not-a-cursor").status_code == 404
