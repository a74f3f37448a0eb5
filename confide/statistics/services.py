"""Publishing the weekly statistics: each complete week once, frozen, after the last one."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone

from confide.cases.models import Case
from confide.statistics.models import WeeklyPublication
from confide.statistics.publication import METHOD, Issued, WeekCounts, publish, week_starts_on
from confide.statistics.selectors import WEEK, published_rows, start_of, weekly_counts

# A week is published this long after it ends (Sunday midnight), so interviews and calls of
# its last days are counted: England published on Thursdays. Reached later is not counted.
PUBLICATION_DELAY = timedelta(days=3)


def publishable_at(week_starts_on: date) -> datetime:
    return start_of(week_starts_on + WEEK) + PUBLICATION_DELAY


def _last_publishable_week(now: datetime) -> date:
    """The Monday of the newest week that may be published at `now`."""
    day = timezone.localdate(now - PUBLICATION_DELAY)
    return day - timedelta(days=day.weekday()) - WEEK


def _first_unpublished_week(latest: WeeklyPublication | None) -> date | None:
    if latest is not None:
        return latest.week_starts_on + WEEK
    first_case = Case.objects.aggregate(first=Min("created_at"))["first"]
    if first_case is None:
        return None
    day = timezone.localdate(first_case)
    return day - timedelta(days=day.weekday())


def _history() -> list[Issued]:
    """Every publication as `publish` needs it, oldest first: counts and first-hidden cells
    of all, the rows of the latest only (earlier weeks' rows are repeated in it)."""
    stored = list(WeeklyPublication.objects.order_by("week_starts_on").defer("rows"))
    history = [
        Issued(
            counts=WeekCounts.from_json(publication.week_counts),
            first_hidden={
                table: frozenset((row, column) for row, column in cells)
                for table, cells in publication.first_hidden.items()
            },
            rows=(),
        )
        for publication in stored
    ]
    if stored:
        latest = WeeklyPublication.objects.only("rows").get(pk=stored[-1].pk)
        history[-1] = Issued(
            counts=history[-1].counts,
            first_hidden=history[-1].first_hidden,
            rows=tuple(published_rows(latest)),
        )
    return history


def publish_due_weeks(*, now: datetime | None = None) -> list[WeeklyPublication]:
    """Publish every complete week not yet published, oldest first, each as a new row after
    the latest. Safe to run from several workers: the latest publication is locked, and a
    week can be published once only (unique), so a second runner publishes nothing."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            latest = (
                WeeklyPublication.objects.select_for_update()
                .order_by("-week_starts_on")
                .only("pk", "week_starts_on")
                .first()
            )
            first = _first_unpublished_week(latest)
            last = _last_publishable_week(now)
            if first is None or first > last:
                return []
            history = _history()
            counted = weekly_counts(since=first, until=last + WEEK)
            published = []
            previous = latest
            for counts in counted.values():
                issued = publish(history, counts)
                previous = WeeklyPublication.objects.create(
                    week=counts.week,
                    week_starts_on=week_starts_on(counts.week),
                    previous=previous,
                    published_at=now,
                    method=METHOD,
                    rows=[row.as_dict() for row in issued.rows],
                    week_counts=counts.as_json(),
                    first_hidden={
                        table: sorted([row, column] for row, column in cells)
                        for table, cells in issued.first_hidden.items()
                    },
                )
                published.append(previous)
                history.append(issued)
            return published
    except IntegrityError:
        return []  # another worker published these weeks first


def publication_due(*, now: datetime | None = None) -> bool:
    """Whether a week is waiting to be published: two indexed reads, for the worker's timer."""
    now = now or timezone.now()
    latest = WeeklyPublication.objects.order_by("-week_starts_on").only("week_starts_on").first()
    first = _first_unpublished_week(latest)
    return first is not None and first <= _last_publishable_week(now)
