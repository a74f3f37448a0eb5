"""Weekly counts, and the publications made from them, for small crafted datasets whose
answers we know."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from confide.cases.models import Case, CaseStatus, CaseTransition
from confide.cases.services import transition_case
from confide.cases.tests.factories import CaseFactory
from confide.people.tests.factories import PersonFactory
from confide.staff.models import Role, StaffMember
from confide.staff.tests.factories import StaffMemberFactory
from confide.statistics.publication import TABLES, WeeklyRow, history_cells
from confide.statistics.selectors import latest_publication, published_rows, weekly_counts
from confide.statistics.services import publish_due_weeks, publishable_at
from confide.statistics.suppression import SUPPRESSED
from confide.statistics.tables import running_total
from confide.tracing.models import Exposure, NotificationState, Proximity
from confide.tracing.services import record_exposure
from confide.workqueue.models import CallAttempt, CallOutcome
from confide.workqueue.services import enqueue_contact_call

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
# Monday 4 January 2021 is the first day of ISO week 2021-W01.
WEEK_ONE = datetime(2021, 1, 4, 9, 0, tzinfo=LONDON)
WEEK_TWO = WEEK_ONE + timedelta(days=7)
MONDAY_ONE = date(2021, 1, 4)


def published_through(monday: date) -> list[WeeklyRow]:
    """Publish every week up to the one starting `monday`, when it falls due; the rows shown."""
    publish_due_weeks(now=publishable_at(monday))
    publication = latest_publication()
    assert publication is not None
    return published_rows(publication)


def tracer() -> StaffMember:
    return StaffMemberFactory.create(role=Role.CLINICIAN)


def case_at(created: datetime, *, completed_after: timedelta | None, by: StaffMember) -> Case:
    case = CaseFactory.create(specimen_date=date(2021, 1, 2), today=date(2021, 1, 3))
    Case.objects.filter(pk=case.pk).update(created_at=created)
    if completed_after is not None:
        transition_case(case=case, to=CaseStatus.ASSIGNED, by=by, assign_to=by)
        transition_case(case=case, to=CaseStatus.IN_PROGRESS, by=by)
        transition_case(case=case, to=CaseStatus.COMPLETED, by=by)
        CaseTransition.objects.filter(case=case, to_status=CaseStatus.COMPLETED).update(
            at=created + completed_after
        )
    return case


def contact_of(case: Case, *, reached_after: timedelta | None, by: StaffMember) -> Exposure:
    exposure = record_exposure(
        case=case,
        contact=PersonFactory.create(),
        last_contact=date(2021, 1, 2),
        proximity=Proximity.CLOSE,
        notify=False,
        today=date(2021, 1, 3),
    )
    created = case.created_at if isinstance(case.created_at, datetime) else WEEK_ONE
    Exposure.objects.filter(pk=exposure.pk).update(created_at=created)
    if reached_after is not None:
        item = enqueue_contact_call(exposure=exposure, reason="test")
        call = CallAttempt.objects.create(work_item=item, outcome=CallOutcome.COMPLETED, by=by)
        CallAttempt.objects.filter(pk=call.pk).update(at=created + reached_after)
    return exposure


def test_cases_are_counted_by_iso_week_of_transfer_and_time_to_interview() -> None:
    by = tracer()
    for _ in range(3):
        case_at(WEEK_ONE, completed_after=timedelta(hours=5), by=by)
    for _ in range(2):
        case_at(WEEK_ONE, completed_after=timedelta(hours=30), by=by)
    case_at(WEEK_ONE + timedelta(days=6, hours=14), completed_after=None, by=by)  # Sunday night
    case_at(WEEK_TWO, completed_after=None, by=by)

    counts = weekly_counts(since=MONDAY_ONE, until=MONDAY_ONE + timedelta(days=14))

    assert list(counts) == ["2021-W01", "2021-W02"]
    weeks = list(counts)
    cells = history_cells([week.cases for week in counts.values()], weeks, TABLES["cases"])
    assert cells[("2021-W01", "reached_within_24h")] == 3
    assert cells[("2021-W01", "reached_after_24h")] == 2
    assert cells[("2021-W01", "reached")] == 5
    assert cells[("2021-W01", "not_reached")] == 1
    assert cells[("2021-W01", "transferred")] == 6
    assert cells[("2021-W02", "transferred")] == 1
    assert cells[(running_total("2021-W02"), "transferred")] == 7


def test_contacts_are_counted_in_their_case_week_with_hours_to_reach() -> None:
    by = tracer()
    case = case_at(WEEK_ONE, completed_after=timedelta(hours=2), by=by)
    case.created_at = WEEK_ONE
    contact_of(case, reached_after=timedelta(hours=4), by=by)
    contact_of(case, reached_after=timedelta(hours=10), by=by)
    contact_of(case, reached_after=None, by=by)
    told = contact_of(case, reached_after=None, by=by)
    Exposure.objects.filter(pk=told.pk).update(notification_state=NotificationState.SENT)

    week = weekly_counts(since=MONDAY_ONE, until=MONDAY_ONE + timedelta(days=7))["2021-W01"]

    cells = history_cells([week.contacts], ["2021-W01"], TABLES["contacts"])
    assert cells[("2021-W01", "identified")] == 4
    assert cells[("2021-W01", "reached")] == 3
    assert cells[("2021-W01", "not_reached")] == 1
    assert week.tenths_of_hours_to_reach == {40: 1, 100: 1}  # 4 and 10 hours


def test_a_week_with_no_small_counts_is_published_in_full() -> None:
    by = tracer()
    cases = [case_at(WEEK_ONE, completed_after=timedelta(hours=3), by=by) for _ in range(5)]
    cases += [case_at(WEEK_ONE, completed_after=timedelta(hours=40), by=by) for _ in range(5)]
    for index, case in enumerate(cases):
        case.created_at = WEEK_ONE
        contact_of(case, reached_after=timedelta(hours=index + 1), by=by)

    week, all_weeks = published_through(MONDAY_ONE)

    assert week.week == "2021-W01"
    assert week.week_starts_on == date(2021, 1, 4)
    assert week.cases_transferred == 10
    assert week.cases_reached == 10
    assert week.cases_reached_percent == 100.0
    assert week.cases_reached_within_24h == 5
    assert week.cases_reached_within_24h_percent == 50.0
    assert week.contacts_identified == 10
    assert week.contacts_reached == 10
    assert week.contacts_reached_percent == 100.0
    assert week.contacts_median_hours_to_reach == 5.5
    assert all_weeks.as_dict() | {"week": "2021-W01", "week_starts_on": "2021-01-04"} == (
        week.as_dict()
    )


def test_small_counts_and_what_they_would_reveal_are_suppressed() -> None:
    by = tracer()
    for _ in range(6):
        case_at(WEEK_ONE, completed_after=timedelta(hours=3), by=by)
    for _ in range(2):
        case_at(WEEK_ONE, completed_after=None, by=by)

    week, _ = published_through(MONDAY_ONE)

    # 8 transferred, 6 reached: publishing both would reveal 2 not reached.
    assert week.cases_transferred == 8
    assert week.cases_reached == SUPPRESSED
    assert week.cases_reached_percent == SUPPRESSED


def test_support_applications_and_payments_are_counted_in_their_cases_week() -> None:
    from confide.statistics.publication import week_starts_on
    from confide.statistics.selectors import iso_week
    from confide.support.models import ApplicationState, SupportApplication
    from confide.support.tests.factories import isolating_contact, submitted_application

    first = isolating_contact()  # a case of today, and a contact told to isolate
    case = first.case
    exposures = [first, *(isolating_contact(case=case) for _ in range(6))]
    applications = [submitted_application(exposure) for exposure in exposures]
    SupportApplication.objects.filter(pk__in=[a.pk for a in applications[:5]]).update(
        state=ApplicationState.PAID
    )
    isolating_contact(case=case)  # a contact who never applied: not counted
    week = iso_week(case.created_at)

    monday = week_starts_on(week)
    counts = weekly_counts(since=monday, until=monday + timedelta(days=7))[week]
    cells = history_cells([counts.support], [week], TABLES["support"])
    assert cells[(week, "applications")] == 7
    assert cells[(week, "paid")] == 5
    (this_week, all_weeks) = published_through(monday)
    # 7 applications and 5 payments are both 5 or more, but 7 - 5 = 2 unpaid would be
    # disclosed by subtraction: the payments cell is suppressed as well.
    assert this_week.support_applications == 7
    assert this_week.support_payments == SUPPRESSED
    assert all_weeks.support_applications == 7
