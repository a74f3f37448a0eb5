"""Work queues: queueing, claiming, calls, completion, release, reassignment and escalation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from confide.cases.models import Case, CaseStatus, CaseTransition
from confide.cases.tests.factories import CaseFactory
from confide.people.tests.factories import PersonFactory
from confide.staff.models import Role, StaffMember, Tier
from confide.staff.tests.factories import StaffMemberFactory
from confide.tracing.models import Exposure, Proximity, Setting, SettingKind
from confide.tracing.services import create_setting, record_exposure
from confide.workqueue.models import CallAttempt, CallOutcome, WorkItem, WorkKind, WorkState
from confide.workqueue.services import (
    PRIORITY_NORMAL,
    PRIORITY_URGENT,
    claim_next,
    complete_item,
    enqueue_case_interview,
    enqueue_contact_call,
    enqueue_setting_review,
    escalate_case,
    reassign_item,
    record_call,
    release_item,
)

pytestmark = pytest.mark.django_db

RETRYABLE = [
    CallOutcome.NO_ANSWER,
    CallOutcome.VOICEMAIL,
    CallOutcome.BUSY,
    CallOutcome.CALL_BACK,
]
# Policy v3 (14 December 2020): 10 attempts spread over 72 hours, one every 7.2 hours.
V3_RETRY_SPACING = timedelta(hours=7, minutes=12)


@pytest.fixture
def case() -> Case:
    """A new tier-2 case tested 10 January 2021, so under policy v3."""
    return CaseFactory.create()


@pytest.fixture
def clinician() -> StaffMember:
    return StaffMemberFactory.create(role=Role.CLINICIAN)


@pytest.fixture
def other_clinician() -> StaffMember:
    return StaffMemberFactory.create(role=Role.CLINICIAN)


@pytest.fixture
def call_handler() -> StaffMember:
    return StaffMemberFactory.create(role=Role.CALL_HANDLER)


@pytest.fixture
def supervisor() -> StaffMember:
    return StaffMemberFactory.create(role=Role.SUPERVISOR)


@pytest.fixture
def exposure(case: Case) -> Exposure:
    return record_exposure(
        case=case,
        contact=PersonFactory.create(),
        last_contact=date(2021, 1, 9),
        proximity=Proximity.CLOSE,
        today=date(2021, 1, 11),
        notify=False,
    )


@pytest.fixture
def care_home() -> Setting:
    return create_setting(kind=SettingKind.CARE_HOME, name="Rose Court", postcode="SW1A 1AA")


@pytest.fixture
def claimed(case: Case, clinician: StaffMember) -> WorkItem:
    """The case's interview, claimed by the clinician."""
    enqueue_case_interview(case=case)
    item = claim_next(tracer=clinician)
    assert item is not None
    return item


def fresh(item: WorkItem) -> WorkItem:
    return WorkItem.objects.get(pk=item.pk)


def status_of(case: Case) -> str:
    return Case.objects.get(pk=case.pk).status


def history(case: Case) -> list[tuple[str, str, int | None]]:
    return list(
        CaseTransition.objects.filter(case=case)
        .order_by("at", "pk")
        .values_list("from_status", "to_status", "by_id")
    )


# --- queueing --------------------------------------------------------------------------------


def test_a_case_is_queued_in_its_own_tier(case):
    item = enqueue_case_interview(case=case)

    assert (item.kind, item.tier, item.state) == (
        WorkKind.CASE_INTERVIEW,
        Tier.CLINICAL,
        WorkState.WAITING,
    )


def test_queueing_a_case_twice_keeps_one_open_item(case):
    first = enqueue_case_interview(case=case)
    second = enqueue_case_interview(case=case, priority=PRIORITY_URGENT)

    assert second.pk == first.pk
    assert WorkItem.objects.filter(case=case).count() == 1


def test_queueing_a_claimed_case_again_returns_the_claimed_item(claimed, case):
    assert enqueue_case_interview(case=case).pk == claimed.pk
    assert WorkItem.objects.filter(case=case).count() == 1


def test_a_case_whose_interview_is_done_can_be_queued_again(claimed, case, clinician):
    complete_item(item=claimed, by=clinician)

    again = enqueue_case_interview(case=case)

    assert again.pk != claimed.pk
    assert again.state == WorkState.WAITING


def test_queueing_a_contact_call_twice_keeps_one_open_item(exposure):
    first = enqueue_contact_call(exposure=exposure, reason="no email or mobile")
    second = enqueue_contact_call(exposure=exposure, reason="no email or mobile")

    assert second.pk == first.pk
    assert WorkItem.objects.filter(exposure=exposure).count() == 1


def test_a_contact_call_goes_to_the_call_handlers_queue(exposure):
    item = enqueue_contact_call(exposure=exposure, reason="no email or mobile")

    assert (item.kind, item.tier) == (WorkKind.CONTACT_CALL, Tier.CALL_HANDLING)


def test_queueing_a_setting_review_twice_keeps_one_open_item(care_home):
    first = enqueue_setting_review(setting=care_home, reason="two cases this week")
    second = enqueue_setting_review(setting=care_home, reason="a third case")

    assert second.pk == first.pk
    assert WorkItem.objects.filter(setting=care_home).count() == 1


def test_a_setting_review_is_urgent_work_for_local_health_protection(care_home):
    item = enqueue_setting_review(setting=care_home, reason="two cases this week")

    assert (item.tier, item.priority) == (Tier.LOCAL_HEALTH_PROTECTION, PRIORITY_URGENT)


# --- claiming --------------------------------------------------------------------------------


def test_claim_next_gives_the_highest_priority_item_first(clinician):
    enqueue_case_interview(case=CaseFactory.create(), priority=PRIORITY_NORMAL)
    urgent = enqueue_case_interview(case=CaseFactory.create(), priority=PRIORITY_URGENT)
    enqueue_case_interview(case=CaseFactory.create(), priority=PRIORITY_NORMAL)

    assert claim_next(tracer=clinician) == urgent


def test_claim_next_gives_the_longest_waiting_of_equal_priority_first(clinician):
    newer = enqueue_case_interview(case=CaseFactory.create())
    older = enqueue_case_interview(case=CaseFactory.create())
    WorkItem.objects.filter(pk=older.pk).update(
        available_at=newer.available_at - timedelta(hours=1)
    )

    assert claim_next(tracer=clinician) == older


def test_claim_next_only_offers_work_from_the_tracers_own_tier(case, clinician):
    enqueue_case_interview(
        case=CaseFactory.create(), tier=Tier.CALL_HANDLING, priority=PRIORITY_URGENT
    )
    mine = enqueue_case_interview(case=case, priority=PRIORITY_NORMAL)

    assert claim_next(tracer=clinician) == mine


def test_claim_next_does_not_offer_an_item_before_it_is_available(case, clinician):
    item = enqueue_case_interview(case=case)
    WorkItem.objects.filter(pk=item.pk).update(available_at=timezone.now() + timedelta(hours=1))

    assert claim_next(tracer=clinician) is None


def test_claim_next_returns_nothing_when_the_queue_is_empty(clinician):
    assert claim_next(tracer=clinician) is None


def test_claim_next_returns_the_held_item_again_while_it_is_held(clinician):
    enqueue_case_interview(case=CaseFactory.create())
    enqueue_case_interview(case=CaseFactory.create())
    held = claim_next(tracer=clinician)

    again = claim_next(tracer=clinician)

    assert again == held
    assert WorkItem.objects.filter(state=WorkState.CLAIMED).count() == 1


@pytest.mark.parametrize(
    "role", [Role.SUPERVISOR, Role.DATA_PROTECTION_OFFICER, Role.ADMINISTRATOR]
)
def test_staff_without_a_tier_cannot_claim_work(case, role):
    enqueue_case_interview(case=case)
    member = StaffMemberFactory.create(role=role)

    with pytest.raises(PermissionDenied):
        claim_next(tracer=member)

    assert WorkItem.objects.get(case=case).state == WorkState.WAITING


def test_claiming_a_case_assigns_it_to_the_tracer(claimed, case, clinician):
    assert claimed.claimed_by == clinician
    updated = Case.objects.get(pk=case.pk)
    assert (updated.status, updated.assigned_to) == (CaseStatus.ASSIGNED, clinician)


def test_claiming_a_case_is_recorded_in_its_history_as_the_tracers(claimed, case, clinician):
    assert history(case) == [(CaseStatus.NEW, CaseStatus.ASSIGNED, clinician.pk)]


def test_an_item_untouched_past_the_claim_timeout_is_offered_to_another_tracer(
    case, clinician, other_clinician, settings
):
    enqueue_case_interview(case=case)
    claimed_at = timezone.now()
    item = claim_next(tracer=clinician, now=claimed_at)
    assert item is not None
    later = claimed_at + timedelta(minutes=settings.CONFIDE_CLAIM_TIMEOUT_MINUTES + 1)

    assert claim_next(tracer=other_clinician, now=later) == item
    assert fresh(item).claimed_by == other_clinician
    assert Case.objects.get(pk=case.pk).assigned_to == other_clinician


def test_an_item_within_the_claim_timeout_is_not_offered_to_another_tracer(
    case, clinician, other_clinician, settings
):
    enqueue_case_interview(case=case)
    claimed_at = timezone.now()
    claim_next(tracer=clinician, now=claimed_at)
    later = claimed_at + timedelta(minutes=settings.CONFIDE_CLAIM_TIMEOUT_MINUTES - 1)

    assert claim_next(tracer=other_clinician, now=later) is None


def test_a_timed_out_claim_shows_in_the_history_as_returned_to_new_then_assigned(
    case, clinician, other_clinician, settings
):
    enqueue_case_interview(case=case)
    claimed_at = timezone.now()
    claim_next(tracer=clinician, now=claimed_at)

    claim_next(
        tracer=other_clinician,
        now=claimed_at + timedelta(minutes=settings.CONFIDE_CLAIM_TIMEOUT_MINUTES + 1),
    )

    assert history(case) == [
        (CaseStatus.NEW, CaseStatus.ASSIGNED, clinician.pk),
        (CaseStatus.ASSIGNED, CaseStatus.NEW, None),
        (CaseStatus.NEW, CaseStatus.ASSIGNED, other_clinician.pk),
    ]


def test_recording_a_call_counts_as_touching_the_claimed_item(
    case, clinician, other_clinician, settings
):
    """An interview under way is not taken from the tracer: the timeout runs from the last
    thing they did with the item, not from the moment they claimed it."""
    timeout = timedelta(minutes=settings.CONFIDE_CLAIM_TIMEOUT_MINUTES)
    enqueue_case_interview(case=case)
    claimed_at = timezone.now()
    item = claim_next(tracer=clinician, now=claimed_at)
    assert item is not None
    answered_at = claimed_at + timeout - timedelta(minutes=5)
    record_call(item=item, outcome=CallOutcome.COMPLETED, by=clinician, now=answered_at)

    taken = claim_next(tracer=other_clinician, now=answered_at + timedelta(minutes=10))

    assert taken is None
    assert Case.objects.get(pk=case.pk).assigned_to == clinician


# --- calls -----------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", RETRYABLE)
def test_a_retryable_call_outcome_puts_the_item_back_to_wait(claimed, clinician, outcome):
    record_call(item=claimed, outcome=outcome, by=clinician)

    item = fresh(claimed)
    assert (item.state, item.claimed_by, item.attempts) == (WorkState.WAITING, None, 1)


def test_a_retry_waits_the_policys_window_divided_by_its_attempts(claimed, case, clinician):
    now = timezone.now()

    record_call(item=claimed, outcome=CallOutcome.NO_ANSWER, by=clinician, now=now)

    assert case.policy.version == 3
    assert fresh(claimed).available_at == now + V3_RETRY_SPACING


@pytest.mark.parametrize("outcome", RETRYABLE)
def test_a_retryable_call_outcome_returns_the_case_to_new(claimed, case, clinician, outcome):
    record_call(item=claimed, outcome=outcome, by=clinician)

    updated = Case.objects.get(pk=case.pk)
    assert (updated.status, updated.assigned_to) == (CaseStatus.NEW, None)


def test_a_case_not_reached_in_the_policys_maximum_attempts_becomes_unreachable(case, clinician):
    enqueue_case_interview(case=case)
    now = timezone.now()
    for _attempt in range(case.policy.max_call_attempts):
        item = claim_next(tracer=clinician, now=now)
        assert item is not None
        record_call(item=item, outcome=CallOutcome.NO_ANSWER, by=clinician, now=now)
        now += V3_RETRY_SPACING

    assert status_of(case) == CaseStatus.UNREACHABLE
    assert WorkItem.objects.filter(case=case).values_list("state", "attempts").get() == (
        WorkState.DONE,
        10,
    )


def test_one_attempt_short_of_the_maximum_the_case_is_tried_again(case, clinician):
    enqueue_case_interview(case=case)
    now = timezone.now()
    for _attempt in range(case.policy.max_call_attempts - 1):
        item = claim_next(tracer=clinician, now=now)
        assert item is not None
        record_call(item=item, outcome=CallOutcome.NO_ANSWER, by=clinician, now=now)
        now += V3_RETRY_SPACING

    assert status_of(case) == CaseStatus.NEW
    assert WorkItem.objects.get(case=case).state == WorkState.WAITING


def test_a_case_not_reached_within_the_policys_window_becomes_unreachable(claimed, case, clinician):
    after_window = claimed.created_at + timedelta(hours=case.policy.call_attempt_window_hours)

    record_call(item=claimed, outcome=CallOutcome.NO_ANSWER, by=clinician, now=after_window)

    assert status_of(case) == CaseStatus.UNREACHABLE
    assert fresh(claimed).state == WorkState.DONE


def test_a_wrong_number_makes_the_case_unreachable_at_once(claimed, case, clinician):
    record_call(item=claimed, outcome=CallOutcome.WRONG_NUMBER, by=clinician)

    assert status_of(case) == CaseStatus.UNREACHABLE
    assert (fresh(claimed).state, fresh(claimed).attempts) == (WorkState.DONE, 1)


def test_a_refusal_completes_the_case_with_that_outcome(claimed, case, clinician):
    record_call(item=claimed, outcome=CallOutcome.REFUSED, by=clinician)

    updated = Case.objects.get(pk=case.pk)
    assert (updated.status, updated.outcome) == (CaseStatus.COMPLETED, "Refused to take part")
    assert fresh(claimed).state == WorkState.DONE


def test_a_refusal_part_way_through_an_answered_call_completes_the_case(claimed, case, clinician):
    record_call(item=claimed, outcome=CallOutcome.COMPLETED, by=clinician)

    record_call(item=claimed, outcome=CallOutcome.REFUSED, by=clinician)

    updated = Case.objects.get(pk=case.pk)
    assert (updated.status, updated.outcome) == (CaseStatus.COMPLETED, "Refused to take part")


def test_an_answered_call_puts_the_case_in_progress(claimed, case, clinician):
    record_call(item=claimed, outcome=CallOutcome.COMPLETED, by=clinician)

    assert status_of(case) == CaseStatus.IN_PROGRESS
    assert (fresh(claimed).state, fresh(claimed).claimed_by) == (WorkState.CLAIMED, clinician)


def test_every_call_is_logged_with_who_made_it(claimed, clinician):
    record_call(item=claimed, outcome=CallOutcome.BUSY, by=clinician)

    assert list(CallAttempt.objects.values_list("work_item", "outcome", "by")) == [
        (claimed.pk, CallOutcome.BUSY, clinician.pk)
    ]


def test_only_the_tracer_holding_the_item_can_record_a_call(claimed, case, other_clinician):
    with pytest.raises(PermissionDenied):
        record_call(item=claimed, outcome=CallOutcome.NO_ANSWER, by=other_clinician)

    assert not CallAttempt.objects.exists()
    assert fresh(claimed).attempts == 0
    assert status_of(case) == CaseStatus.ASSIGNED


def test_an_unknown_call_outcome_is_refused(claimed, clinician):
    with pytest.raises(ValidationError) as refused:
        record_call(item=claimed, outcome="hung up", by=clinician)

    assert set(refused.value.message_dict) == {"outcome"}
    assert not CallAttempt.objects.exists()


def test_an_unanswered_contact_call_is_retried_on_the_exposures_policy(exposure, call_handler):
    enqueue_contact_call(exposure=exposure, reason="no email or mobile")
    item = claim_next(tracer=call_handler)
    assert item is not None
    now = timezone.now()

    record_call(item=item, outcome=CallOutcome.NO_ANSWER, by=call_handler, now=now)

    assert exposure.policy.version == 3
    assert fresh(item).available_at == now + V3_RETRY_SPACING


# --- completing and releasing ----------------------------------------------------------------


def test_completing_an_interview_completes_the_case(claimed, case, clinician):
    complete_item(item=claimed, by=clinician)

    assert status_of(case) == CaseStatus.COMPLETED
    assert fresh(claimed).state == WorkState.DONE
    assert fresh(claimed).completed_at is not None


def test_completing_an_interview_records_its_outcome(claimed, case, clinician):
    complete_item(item=claimed, by=clinician, outcome="Interviewed; 3 contacts named")

    assert Case.objects.get(pk=case.pk).outcome == "Interviewed; 3 contacts named"


def test_only_the_tracer_holding_the_item_can_complete_it(claimed, case, other_clinician):
    with pytest.raises(PermissionDenied):
        complete_item(item=claimed, by=other_clinician)

    assert fresh(claimed).state == WorkState.CLAIMED
    assert status_of(case) == CaseStatus.ASSIGNED


def test_releasing_an_item_puts_it_back_in_the_queue(claimed, clinician):
    release_item(item=claimed, by=clinician)

    item = fresh(claimed)
    assert (item.state, item.claimed_by, item.claimed_at) == (WorkState.WAITING, None, None)


def test_releasing_an_item_returns_its_case_to_new(claimed, case, clinician):
    release_item(item=claimed, by=clinician)

    updated = Case.objects.get(pk=case.pk)
    assert (updated.status, updated.assigned_to) == (CaseStatus.NEW, None)


def test_a_released_item_is_offered_to_the_next_tracer(claimed, clinician, other_clinician):
    release_item(item=claimed, by=clinician)

    assert claim_next(tracer=other_clinician) == claimed


def test_a_supervisor_can_release_a_tracers_item(claimed, supervisor):
    release_item(item=claimed, by=supervisor)

    assert fresh(claimed).state == WorkState.WAITING


def test_another_tracer_cannot_release_an_item(claimed, other_clinician):
    with pytest.raises(PermissionDenied):
        release_item(item=claimed, by=other_clinician)

    assert fresh(claimed).state == WorkState.CLAIMED


def test_a_finished_item_cannot_be_released_back_into_the_queue(claimed, case, clinician):
    complete_item(item=claimed, by=clinician)

    with pytest.raises(PermissionDenied):
        release_item(item=claimed, by=clinician)

    assert fresh(claimed).state == WorkState.DONE


# --- reassigning -----------------------------------------------------------------------------


def test_a_supervisor_reassigns_an_item_to_a_tracer_of_its_tier(
    claimed, case, supervisor, other_clinician
):
    reassign_item(item=claimed, to=other_clinician, by=supervisor)

    assert (fresh(claimed).state, fresh(claimed).claimed_by) == (
        WorkState.CLAIMED,
        other_clinician,
    )
    updated = Case.objects.get(pk=case.pk)
    assert (updated.status, updated.assigned_to) == (CaseStatus.ASSIGNED, other_clinician)


def test_a_supervisor_can_hand_a_waiting_item_straight_to_a_tracer(case, supervisor, clinician):
    item = enqueue_case_interview(case=case)

    reassign_item(item=item, to=clinician, by=supervisor)

    assert fresh(item).claimed_by == clinician
    assert Case.objects.get(pk=case.pk).assigned_to == clinician


def test_a_reassignment_is_recorded_in_the_case_history_as_the_supervisors(
    claimed, case, supervisor, other_clinician
):
    reassign_item(item=claimed, to=other_clinician, by=supervisor)

    assert history(case)[-1] == (CaseStatus.NEW, CaseStatus.ASSIGNED, supervisor.pk)


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.HEALTH_PROTECTION, Role.ADMINISTRATOR])
def test_only_a_supervisor_can_reassign_work(claimed, clinician, other_clinician, role):
    someone = StaffMemberFactory.create(role=role)

    with pytest.raises(PermissionDenied):
        reassign_item(item=claimed, to=other_clinician, by=someone)

    assert fresh(claimed).claimed_by == clinician


@pytest.mark.parametrize("role", [Role.CALL_HANDLER, Role.HEALTH_PROTECTION, Role.SUPERVISOR])
def test_work_is_only_reassigned_to_a_tracer_of_the_items_tier(
    claimed, case, clinician, supervisor, role
):
    elsewhere = StaffMemberFactory.create(role=role)

    with pytest.raises(ValidationError) as refused:
        reassign_item(item=claimed, to=elsewhere, by=supervisor)

    assert set(refused.value.message_dict) == {"to"}
    assert fresh(claimed).claimed_by == clinician
    assert history(case) == [(CaseStatus.NEW, CaseStatus.ASSIGNED, clinician.pk)]


def test_a_finished_item_cannot_be_reassigned(claimed, case, clinician, supervisor):
    complete_item(item=claimed, by=clinician)
    other = StaffMemberFactory.create(role=Role.CLINICIAN)

    with pytest.raises(PermissionDenied):
        reassign_item(item=claimed, to=other, by=supervisor)

    assert fresh(claimed).state == WorkState.DONE
    assert status_of(case) == CaseStatus.COMPLETED


# --- escalating ------------------------------------------------------------------------------

ESCALATION = "Care home resident: local health protection to lead"


def test_escalating_cancels_the_cases_open_item(claimed, case, supervisor):
    escalate_case(case=case, to_tier=Tier.LOCAL_HEALTH_PROTECTION, reason=ESCALATION, by=supervisor)

    assert fresh(claimed).state == WorkState.CANCELLED


def test_escalating_moves_the_case_to_escalated_in_the_new_tier(claimed, case, supervisor):
    escalate_case(case=case, to_tier=Tier.LOCAL_HEALTH_PROTECTION, reason=ESCALATION, by=supervisor)

    updated = Case.objects.get(pk=case.pk)
    assert (updated.status, updated.tier, updated.assigned_to) == (
        CaseStatus.ESCALATED,
        Tier.LOCAL_HEALTH_PROTECTION,
        None,
    )


def test_escalating_puts_an_urgent_item_in_the_new_tiers_queue(claimed, case, supervisor):
    item = escalate_case(
        case=case, to_tier=Tier.LOCAL_HEALTH_PROTECTION, reason=ESCALATION, by=supervisor
    )

    assert (item.tier, item.priority, item.state, item.reason) == (
        Tier.LOCAL_HEALTH_PROTECTION,
        PRIORITY_URGENT,
        WorkState.WAITING,
        ESCALATION,
    )


def test_an_escalation_is_recorded_with_who_and_why(claimed, case, supervisor):
    escalate_case(case=case, to_tier=Tier.LOCAL_HEALTH_PROTECTION, reason=ESCALATION, by=supervisor)

    last = CaseTransition.objects.filter(case=case).order_by("at", "pk").last()
    assert last is not None
    assert (last.to_status, last.by, last.reason) == (CaseStatus.ESCALATED, supervisor, ESCALATION)


def test_an_escalated_case_is_claimed_by_a_tracer_of_the_new_tier(claimed, case, supervisor):
    escalate_case(case=case, to_tier=Tier.LOCAL_HEALTH_PROTECTION, reason=ESCALATION, by=supervisor)
    officer = StaffMemberFactory.create(role=Role.HEALTH_PROTECTION)

    item = claim_next(tracer=officer)

    assert item is not None
    assert item.case_id == case.pk
    updated = Case.objects.get(pk=case.pk)
    assert (updated.status, updated.assigned_to) == (CaseStatus.ASSIGNED, officer)


def test_an_escalated_case_is_no_longer_offered_in_its_old_tier(claimed, case, supervisor):
    escalate_case(case=case, to_tier=Tier.LOCAL_HEALTH_PROTECTION, reason=ESCALATION, by=supervisor)

    assert claim_next(tracer=StaffMemberFactory.create(role=Role.CLINICIAN)) is None


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_escalation_needs_a_reason(claimed, case, supervisor, reason):
    with pytest.raises(ValidationError) as refused:
        escalate_case(case=case, to_tier=Tier.LOCAL_HEALTH_PROTECTION, reason=reason, by=supervisor)

    assert set(refused.value.message_dict) == {"reason"}
    assert fresh(claimed).state == WorkState.CLAIMED
    assert status_of(case) == CaseStatus.ASSIGNED


def test_an_escalation_to_an_unknown_tier_is_refused(claimed, case, supervisor):
    with pytest.raises(ValidationError) as refused:
        escalate_case(case=case, to_tier=7, reason=ESCALATION, by=supervisor)

    assert set(refused.value.message_dict) == {"to_tier"}
    assert fresh(claimed).state == WorkState.CLAIMED
