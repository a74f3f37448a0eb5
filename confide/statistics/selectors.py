"""Weekly figures, counted from the case and contact records and suppressed for publication.

Definitions (docs/statistics.md explains them for readers):
- a case is *transferred to contact tracing* when Confide opens it (Case.created_at): every
  case is opened from a positive result for the tracing service to act on;
- a case is *reached* when its interview is completed: its first move to "completed"
  (CaseTransition). This includes people who were spoken to and refused to give contacts;
- *within 24 hours* compares that move with the case's creation;
- a *contact identified* is an Exposure recorded against a case;
- a contact is *reached* when a tracer completed a call with them (CallAttempt "completed" on a
  work item about the exposure) or their notification was sent (Exposure.notification_state);
  the time to reach them runs from the exposure's creation to the first completed call or the
  message's sent time; a contact with neither timestamp is reached but has no time;
- a *support application* is one sent for review (SupportApplication.submitted_at), counted in
  the week of its case (the contact's naming case, or the applicant's own); a *payment* is an
  application whose payment is recorded.
Weeks are ISO weeks (Monday to Sunday) of the case's creation, in UK time; contacts are counted
in their case's week, as England's NHS Test and Trace publication did.

Counting reads whole weeks of records and runs only when a week is published
(confide/statistics/services.py); the public page reads the latest publication.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db.models import Min, Q
from django.utils import timezone

from confide.cases.models import Case, CaseStatus, CaseTransition
from confide.statistics.models import WeeklyPublication
from confide.statistics.publication import PUBLISHED_FIELDS, WeekCounts, WeeklyRow
from confide.support.models import ApplicationState, SupportApplication
from confide.tracing.models import Exposure, NotificationState
from confide.workqueue.models import CallAttempt, CallOutcome

__all__ = ["PUBLISHED_FIELDS", "WeeklyRow", "latest_publication", "weekly_counts"]

DAY = timedelta(hours=24)
WEEK = timedelta(days=7)


def iso_week(moment: datetime) -> str:
    year, week, _ = timezone.localtime(moment).isocalendar()
    return f"{year}-W{week:02d}"


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def start_of(day: date) -> datetime:
    """Midnight at the start of `day`, UK time."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _case_counts(cases: Q) -> tuple[dict[str, dict[str, int]], dict[int, str]]:
    reached_at = dict(
        CaseTransition.objects.filter(
            to_status=CaseStatus.COMPLETED, case__in=Case.objects.filter(cases)
        )
        .values("case_id")
        .annotate(first=Min("at"))
        .values_list("case_id", "first")
    )
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    week_of_case: dict[int, str] = {}
    rows = Case.objects.filter(cases).values_list("pk", "created_at")
    for case_id, created_at in rows.iterator(chunk_size=10_000):
        week = iso_week(created_at)
        week_of_case[case_id] = week
        reached = reached_at.get(case_id)
        if reached is None:
            column = "not_reached"
        elif reached - created_at <= DAY:
            column = "reached_within_24h"
        else:
            column = "reached_after_24h"
        counts[week][column] += 1
    return counts, week_of_case


def _contact_counts(
    week_of_case: dict[int, str], cases: Q
) -> tuple[dict[str, dict[str, int]], dict[str, dict[int, int]]]:
    exposures = Exposure.objects.filter(case__in=Case.objects.filter(cases))
    called_at = dict(
        CallAttempt.objects.filter(outcome=CallOutcome.COMPLETED, work_item__exposure__in=exposures)
        .values("work_item__exposure_id")
        .annotate(first=Min("at"))
        .values_list("work_item__exposure_id", "first")
    )
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    tenths: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows = exposures.values_list(
        "pk", "case_id", "created_at", "notification_state", "notification_message__sent_at"
    )
    for exposure_id, case_id, created_at, state, sent_at in rows.iterator(chunk_size=10_000):
        week = week_of_case[case_id]
        times = [t for t in (called_at.get(exposure_id), sent_at) if t is not None]
        reached = bool(times) or state == NotificationState.SENT
        counts[week]["reached" if reached else "not_reached"] += 1
        if times:
            tenths[week][round((min(times) - created_at).total_seconds() / 360)] += 1
    return counts, tenths


def _support_counts(week_of_case: dict[int, str], cases: Q) -> dict[str, dict[str, int]]:
    """Submitted support applications, counted in the week of the case they came from (the
    contact's naming case, or the case's own), like every other figure on the page."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    in_range = Case.objects.filter(cases)
    rows = SupportApplication.objects.filter(
        Q(case__in=in_range) | Q(exposure__case__in=in_range), submitted_at__isnull=False
    ).values_list("state", "case_id", "exposure__case_id")
    for state, case_id, naming_case_id in rows.iterator(chunk_size=10_000):
        week = week_of_case.get(case_id or naming_case_id)
        if week is not None:
            counts[week]["paid" if state == ApplicationState.PAID else "not_paid"] += 1
    return counts


def weekly_counts(*, since: date, until: date) -> dict[str, WeekCounts]:
    """The true counts of every week from the Monday `since` to the Monday `until` (not
    included), empty weeks too; one pass over those weeks' records."""
    cases = Q(created_at__gte=start_of(since), created_at__lt=start_of(until))
    case_counts, week_of_case = _case_counts(cases)
    contact_counts, tenths = _contact_counts(week_of_case, cases)
    support_counts = _support_counts(week_of_case, cases)
    weeks = {}
    monday = since
    while monday < until:
        week = week_of(monday)
        weeks[week] = WeekCounts(
            week=week,
            cases=dict(case_counts.get(week, {})),
            contacts=dict(contact_counts.get(week, {})),
            support=dict(support_counts.get(week, {})),
            tenths_of_hours_to_reach=dict(tenths.get(week, {})),
        )
        monday += WEEK
    return weeks


def latest_publication() -> WeeklyPublication | None:
    """What the public page shows: one indexed row, nothing counted."""
    return WeeklyPublication.objects.order_by("-week_starts_on").first()


def published_rows(publication: WeeklyPublication) -> list[WeeklyRow]:
    """Its rows, newest week first, then the all-weeks row."""
    return [WeeklyRow.from_dict(row) for row in publication.rows]
