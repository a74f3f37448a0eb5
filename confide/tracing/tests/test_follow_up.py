"""Daily follow-up of contacts in isolation: opening the day's calls, missed checks, and what
a check-in leads to."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from confide.cases.tests.factories import CaseFactory
from confide.messaging.models import Message, MessageTemplate
from confide.messaging.template_types import TemplateKind
from confide.people.details import PersonDetails
from confide.people.services import create_person, erase_person
from confide.schedule import Ticker
from confide.staff.models import Role, StaffMember, Tier
from confide.staff.tests.factories import StaffMemberFactory
from confide.tracing.follow_up import (
    PRIORITY_FOLLOW_UP,
    FollowUpClosed,
    open_follow_ups,
    record_check_in,
)
from confide.tracing.models import Exposure, FollowUp, FollowUpOutcome, FollowUpStatus, Proximity
from confide.tracing.services import record_exposure
from confide.workqueue.models import WorkItem, WorkKind, WorkState
from confide.workqueue.services import claim_next

pytestmark = pytest.mark.django_db

# The contact is named on day 0 (last contact the day before) and checked from DAY_ONE.
NAMED_ON = date(2021, 1, 11)
DAY_ONE = NAMED_ON + timedelta(days=1)


@pytest.fixture
def exposure() -> Exposure:
    case = CaseFactory.create(specimen_date=date(2021, 1, 10), today=NAMED_ON)
    contact = create_person(
        details=PersonDetails(
            given_name="Perpetua", family_name="Oakhanger", email="perpetua@example.org"
        )
    )
    return record_exposure(
        case=case,
        contact=contact,
        last_contact=NAMED_ON - timedelta(days=1),
        proximity=Proximity.HOUSEHOLD,
        today=NAMED_ON,
        notify=False,  # only the messages follow-up sends are looked at here
    )


@pytest.fixture
def call_handler() -> StaffMember:
    return StaffMemberFactory.create(role=Role.CALL_HANDLER)


def follow_up_on(exposure: Exposure, day: date) -> FollowUp:
    return FollowUp.objects.get(exposure=exposure, due_on=day)


def claimed_check(exposure: Exposure, call_handler: StaffMember, day: date) -> WorkItem:
    open_follow_ups(today=day)
    item = claim_next(tracer=call_handler, kind=WorkKind.FOLLOW_UP)
    assert item is not None
    assert item.follow_up == follow_up_on(exposure, day)
    return item


# --- opening the day's calls -----------------------------------------------------------------


def test_todays_checks_go_to_the_call_handlers_queue_once(exposure: Exposure) -> None:
    first = open_follow_ups(today=DAY_ONE)
    again = open_follow_ups(today=DAY_ONE)

    items = WorkItem.objects.filter(kind=WorkKind.FOLLOW_UP)
    assert (first.opened, again.opened) == (1, 0)
    assert [(i.tier, i.priority, i.exposure_id) for i in items] == [
        (Tier.CALL_HANDLING, PRIORITY_FOLLOW_UP, exposure.pk)
    ]
    assert items.get().follow_up == follow_up_on(exposure, DAY_ONE)


def test_a_check_left_unanswered_is_missed_the_next_day_and_leaves_the_queue(
    exposure: Exposure,
) -> None:
    open_follow_ups(today=DAY_ONE)

    sweep = open_follow_ups(today=DAY_ONE + timedelta(days=1))

    assert sweep.missed == 1
    assert follow_up_on(exposure, DAY_ONE).status == FollowUpStatus.MISSED
    states = dict(
        WorkItem.objects.filter(kind=WorkKind.FOLLOW_UP).values_list("follow_up__due_on", "state")
    )
    assert states == {DAY_ONE: WorkState.CANCELLED, DAY_ONE + timedelta(days=1): WorkState.WAITING}


def test_two_missed_checks_in_a_row_put_a_call_in_the_call_handlers_queue(
    exposure: Exposure,
) -> None:
    open_follow_ups(today=DAY_ONE)
    after_one = open_follow_ups(today=DAY_ONE + timedelta(days=1))
    after_two = open_follow_ups(today=DAY_ONE + timedelta(days=2))

    assert (after_one.chased, after_two.chased) == (0, 1)
    call = WorkItem.objects.get(kind=WorkKind.CONTACT_CALL, exposure=exposure)
    assert call.tier == Tier.CALL_HANDLING
    assert "missed two" in call.reason


def test_the_workers_ticker_opens_todays_calls() -> None:
    today = timezone.localdate()
    case = CaseFactory.create(specimen_date=today - timedelta(days=2), today=today)
    record_exposure(
        case=case,
        contact=create_person(details=PersonDetails(given_name="Tamsin", phone="07700 900321")),
        last_contact=today - timedelta(days=2),
        proximity=Proximity.CLOSE,
        today=today - timedelta(days=1),
        notify=False,
    )

    Ticker().tick()

    assert WorkItem.objects.filter(kind=WorkKind.FOLLOW_UP, follow_up__due_on=today).count() == 1


def test_no_call_is_opened_for_an_erased_contact(exposure: Exposure) -> None:
    erase_person(person=exposure.contact)

    assert open_follow_ups(today=DAY_ONE).opened == 0


# --- recording a check-in --------------------------------------------------------------------


def test_a_well_contact_is_done_for_the_day_and_raises_nothing(
    exposure: Exposure, call_handler: StaffMember
) -> None:
    item = claimed_check(exposure, call_handler, DAY_ONE)

    check_in = record_check_in(
        item=item, outcome=FollowUpOutcome.WELL, by=call_handler, today=DAY_ONE
    )

    follow_up = follow_up_on(exposure, DAY_ONE)
    assert (follow_up.status, follow_up.outcome) == (FollowUpStatus.DONE, FollowUpOutcome.WELL)
    assert follow_up.completed_by == call_handler
    assert follow_up.completed_at is not None
    item.refresh_from_db()
    assert item.state == WorkState.DONE
    assert (check_in.test_message, check_in.raised) == (None, [])
    assert not WorkItem.objects.exclude(kind=WorkKind.FOLLOW_UP).exists()


def test_symptoms_tell_the_contact_to_book_a_test_and_ask_a_clinician_to_call(
    exposure: Exposure, call_handler: StaffMember
) -> None:
    item = claimed_check(exposure, call_handler, DAY_ONE)

    check_in = record_check_in(
        item=item,
        outcome=FollowUpOutcome.SYMPTOMS,
        symptom_onset=DAY_ONE,
        by=call_handler,
        today=DAY_ONE,
    )

    message = Message.objects.get()
    assert check_in.test_message == message
    assert message.template.kind == TemplateKind.BOOK_A_TEST
    assert message.person == exposure.contact
    [clinical] = check_in.raised
    assert (clinical.kind, clinical.tier, clinical.exposure) == (
        WorkKind.CONTACT_SYMPTOMS,
        Tier.CLINICAL,
        exposure,
    )
    assert clinical.reason == "contact has symptoms since 12 January 2021"


def test_symptoms_without_a_book_a_test_template_still_reach_a_clinician(
    exposure: Exposure, call_handler: StaffMember
) -> None:
    MessageTemplate.objects.filter(kind=TemplateKind.BOOK_A_TEST).delete()
    item = claimed_check(exposure, call_handler, DAY_ONE)

    check_in = record_check_in(
        item=item,
        outcome=FollowUpOutcome.SYMPTOMS,
        symptom_onset=DAY_ONE,
        by=call_handler,
        today=DAY_ONE,
    )

    assert check_in.test_message is None
    assert [i.kind for i in check_in.raised] == [WorkKind.CONTACT_SYMPTOMS]
    assert follow_up_on(exposure, DAY_ONE).status == FollowUpStatus.DONE


def test_symptoms_without_an_onset_date_save_nothing(
    exposure: Exposure, call_handler: StaffMember
) -> None:
    item = claimed_check(exposure, call_handler, DAY_ONE)

    with pytest.raises(ValidationError) as raised:
        record_check_in(item=item, outcome=FollowUpOutcome.SYMPTOMS, by=call_handler, today=DAY_ONE)

    assert set(raised.value.message_dict) == {"symptom_onset"}
    assert follow_up_on(exposure, DAY_ONE).status == FollowUpStatus.DUE
    assert not Message.objects.exists()


def test_symptoms_cannot_start_in_the_future(exposure: Exposure, call_handler: StaffMember) -> None:
    item = claimed_check(exposure, call_handler, DAY_ONE)

    with pytest.raises(ValidationError) as raised:
        record_check_in(
            item=item,
            outcome=FollowUpOutcome.SYMPTOMS,
            symptom_onset=DAY_ONE + timedelta(days=1),
            by=call_handler,
            today=DAY_ONE,
        )

    assert set(raised.value.message_dict) == {"symptom_onset"}


def test_a_contact_who_needs_support_is_referred_by_a_call_handler(
    exposure: Exposure, call_handler: StaffMember
) -> None:
    item = claimed_check(exposure, call_handler, DAY_ONE)

    check_in = record_check_in(
        item=item, outcome=FollowUpOutcome.NEEDS_SUPPORT, by=call_handler, today=DAY_ONE
    )

    [referral] = check_in.raised
    assert (referral.kind, referral.tier) == (WorkKind.SUPPORT_REFERRAL, Tier.CALL_HANDLING)
    assert "local support" in referral.reason


def test_unreachable_twice_in_a_row_asks_a_call_handler_to_phone_them(
    exposure: Exposure, call_handler: StaffMember
) -> None:
    first = claimed_check(exposure, call_handler, DAY_ONE)
    on_day_one = record_check_in(
        item=first, outcome=FollowUpOutcome.UNREACHABLE, by=call_handler, today=DAY_ONE
    )
    day_two = DAY_ONE + timedelta(days=1)
    second = claimed_check(exposure, call_handler, day_two)
    on_day_two = record_check_in(
        item=second, outcome=FollowUpOutcome.UNREACHABLE, by=call_handler, today=day_two
    )

    assert follow_up_on(exposure, DAY_ONE).status == FollowUpStatus.MISSED
    assert on_day_one.raised == []
    [call] = on_day_two.raised
    assert (call.kind, call.tier) == (WorkKind.CONTACT_CALL, Tier.CALL_HANDLING)


def test_only_the_call_handler_holding_the_check_can_record_it(
    exposure: Exposure, call_handler: StaffMember
) -> None:
    item = claimed_check(exposure, call_handler, DAY_ONE)
    colleague = StaffMemberFactory.create(role=Role.CALL_HANDLER)

    with pytest.raises(PermissionDenied):
        record_check_in(item=item, outcome=FollowUpOutcome.WELL, by=colleague, today=DAY_ONE)

    assert follow_up_on(exposure, DAY_ONE).status == FollowUpStatus.DUE


def test_a_check_whose_day_has_passed_cannot_be_recorded(
    exposure: Exposure, call_handler: StaffMember
) -> None:
    item = claimed_check(exposure, call_handler, DAY_ONE)
    FollowUp.objects.filter(work_items=item).update(status=FollowUpStatus.MISSED)

    with pytest.raises(FollowUpClosed):
        record_check_in(item=item, outcome=FollowUpOutcome.WELL, by=call_handler, today=DAY_ONE)
