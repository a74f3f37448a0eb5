"""Weekly publications: each complete week once, frozen, by the worker or the command."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from confide.cases.models import CaseStatus, CaseTransition
from confide.cases.services import transition_case
from confide.schedule import Ticker
from confide.statistics.models import PublicationIsFrozen, WeeklyPublication
from confide.statistics.periodic import enqueue_due_publication
from confide.statistics.publication import METHOD
from confide.statistics.selectors import iso_week
from confide.statistics.services import publish_due_weeks, publishable_at
from confide.statistics.tests.test_selectors import WEEK_ONE, WEEK_TWO, case_at, tracer

pytestmark = pytest.mark.django_db

MONDAY_ONE = date(2021, 1, 4)
MONDAY_TWO = date(2021, 1, 11)


def test_nothing_is_published_before_the_first_week_is_due() -> None:
    case_at(WEEK_ONE, completed_after=None, by=tracer())

    assert publish_due_weeks(now=publishable_at(MONDAY_ONE) - timedelta(seconds=1)) == []
    assert not WeeklyPublication.objects.exists()


def test_nothing_is_published_without_cases() -> None:
    assert publish_due_weeks(now=publishable_at(MONDAY_TWO)) == []


def test_each_week_is_published_once_and_a_later_week_adds_a_row() -> None:
    by = tracer()
    for _ in range(6):
        case_at(WEEK_ONE, completed_after=timedelta(hours=3), by=by)

    (first,) = publish_due_weeks(now=publishable_at(MONDAY_ONE))
    assert publish_due_weeks(now=publishable_at(MONDAY_ONE) + timedelta(hours=1)) == []
    case_at(WEEK_TWO, completed_after=None, by=by)
    (second,) = publish_due_weeks(now=publishable_at(MONDAY_TWO))

    assert (first.week, second.week) == ("2021-W01", "2021-W02")
    assert second.previous == first
    assert first.method == second.method == METHOD
    first.refresh_from_db()
    assert first.rows[0]["cases_transferred"] == 6
    assert second.rows[1] == first.rows[0], "week 1 as first published"
    assert [row["week"] for row in second.rows] == ["2021-W02", "2021-W01", "all"]


def test_a_backlog_of_weeks_is_published_oldest_first_empty_weeks_included() -> None:
    case_at(WEEK_ONE, completed_after=None, by=tracer())

    published = publish_due_weeks(now=publishable_at(MONDAY_ONE + timedelta(days=14)))

    assert [publication.week for publication in published] == [
        "2021-W01",
        "2021-W02",
        "2021-W03",
    ]
    assert published[1].rows[0]["cases_transferred"] == 0


def test_a_case_reached_after_its_week_was_published_does_not_change_that_week() -> None:
    """Frozen weeks: a reader comparing two pages learns nothing from late changes."""
    by = tracer()
    late = [case_at(WEEK_ONE, completed_after=None, by=by) for _ in range(8)]
    (first,) = publish_due_weeks(now=publishable_at(MONDAY_ONE))
    for case in late[:2]:
        transition_case(case=case, to=CaseStatus.ASSIGNED, by=by, assign_to=by)
        transition_case(case=case, to=CaseStatus.IN_PROGRESS, by=by)
        transition_case(case=case, to=CaseStatus.COMPLETED, by=by)
    assert CaseTransition.objects.filter(to_status=CaseStatus.COMPLETED).count() == 2

    (second,) = publish_due_weeks(now=publishable_at(MONDAY_TWO))

    assert first.rows[0]["cases_reached"] == 0
    assert second.rows[1] == first.rows[0]
    assert second.rows[-1]["cases_reached"] == 0


def test_a_publication_is_never_rewritten() -> None:
    case_at(WEEK_ONE, completed_after=None, by=tracer())
    (publication,) = publish_due_weeks(now=publishable_at(MONDAY_ONE))

    publication.rows = []
    with pytest.raises(PublicationIsFrozen):
        publication.save()


def test_the_worker_enqueues_publishing_hourly_when_a_week_is_due() -> None:
    from confide.statistics.tasks import publish_statistics

    jobs = {every.job.__name__: every.interval for every in Ticker().jobs}
    assert jobs["_publish_statistics"] == timedelta(hours=1)
    opened = timezone.now() - timedelta(days=14)
    case_at(opened, completed_after=None, by=tracer())
    monday = timezone.localdate(opened) - timedelta(days=timezone.localdate(opened).weekday())

    assert not enqueue_due_publication(now=publishable_at(monday) - timedelta(minutes=1))
    assert enqueue_due_publication(now=publishable_at(monday))
    assert not enqueue_due_publication(now=publishable_at(monday)), "one waiting is enough"
    # Run now, the task publishes every complete week up to today's.
    weeks = publish_statistics.call()
    assert weeks[0] == iso_week(opened)
    assert WeeklyPublication.objects.count() == len(weeks)


def test_the_command_publishes_and_says_what_it_did() -> None:
    opened = timezone.now() - timedelta(days=14)
    case_at(opened, completed_after=None, by=tracer())
    out = StringIO()

    call_command("statistics", "publish", stdout=out)
    call_command("statistics", "publish", stdout=out)

    assert f"Published {iso_week(opened)}" in out.getvalue()
    assert "Nothing to publish" in out.getvalue()
    assert "Latest publication:" in out.getvalue()
