"""Opening cases under the policy in force, and moving them through the state machine."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from confide.cases.models import Case, CaseStatus, CaseTransition
from confide.cases.policy import NoPolicyInForce
from confide.cases.services import open_case, transition_case
from confide.cases.tests.factories import CaseFactory
from confide.cases.transitions import ALLOWED_TRANSITIONS, TransitionNotAllowed
from confide.people.tests.factories import PersonFactory
from confide.staff.models import Role
from confide.staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db

S = CaseStatus
STATUSES = list(S.values)
ALLOWED = [(f, t) for f in STATUSES for t in STATUSES if t in ALLOWED_TRANSITIONS[f]]
DISALLOWED = [(f, t) for f in STATUSES for t in STATUSES if t not in ALLOWED_TRANSITIONS[f]]
# Statuses in which someone is working the case (the assignee constraint requires one in some).
WORKED = {S.ASSIGNED, S.IN_PROGRESS, S.UNREACHABLE, S.COMPLETED}


@pytest.fixture
def person():
    return PersonFactory.create(details__date_of_birth=date(1990, 3, 1))


@pytest.fixture
def tracer():
    return StaffMemberFactory.create(role=Role.CLINICIAN)


@pytest.fixture
def supervisor():
    return StaffMemberFactory.create(role=Role.SUPERVISOR)


def case_in(status: str, *, assignee) -> Case:
    """A case already in a status (set up directly: the route there is not under test)."""
    case = CaseFactory.create()
    Case.objects.filter(pk=case.pk).update(
        status=status, assigned_to=assignee if status in WORKED else None
    )
    return Case.objects.get(pk=case.pk)


# --- open_case -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("specimen_date", "version"),
    [(date(2020, 6, 1), 1), (date(2020, 8, 1), 2), (date(2021, 1, 10), 3)],
)
def test_a_case_is_opened_under_the_policy_in_force_on_its_specimen_date(
    person, specimen_date, version
):
    case = open_case(person=person, specimen_date=specimen_date, today=date(2021, 2, 1))

    assert case.policy.version == version


def test_a_symptomatic_case_is_infectious_from_two_days_before_to_ten_days_after_onset(person):
    case = open_case(
        person=person,
        specimen_date=date(2021, 1, 12),
        symptom_onset=date(2021, 1, 10),
        today=date(2021, 1, 13),
    )

    saved = Case.objects.get(pk=case.pk)
    assert (saved.infectious_from, saved.infectious_until) == (date(2021, 1, 8), date(2021, 1, 20))


def test_an_asymptomatic_case_is_infectious_around_the_specimen_date(person):
    case = open_case(person=person, specimen_date=date(2021, 1, 12), today=date(2021, 1, 13))

    saved = Case.objects.get(pk=case.pk)
    assert (saved.infectious_from, saved.infectious_until) == (date(2021, 1, 10), date(2021, 1, 22))


def test_a_new_case_waits_unassigned_in_the_queue(person):
    case = open_case(person=person, specimen_date=date(2021, 1, 12), today=date(2021, 1, 13))

    assert (case.status, case.assigned_to) == (S.NEW, None)


def test_a_case_can_be_opened_on_the_day_of_the_test(person):
    case = open_case(person=person, specimen_date=date(2021, 1, 13), today=date(2021, 1, 13))

    assert case.specimen_date == date(2021, 1, 13)


@pytest.mark.parametrize(
    ("dates", "field", "message"),
    [
        (
            {"specimen_date": date(2021, 1, 14)},
            "specimen_date",
            "The test date must be today or in the past",
        ),
        (
            {"specimen_date": date(2021, 1, 12), "symptom_onset": date(2021, 1, 14)},
            "symptom_onset",
            "The date symptoms started must be today or in the past",
        ),
        (
            {"specimen_date": date(2021, 1, 12), "symptom_onset": date(1990, 2, 28)},
            "symptom_onset",
            "The date symptoms started must be after the date of birth",
        ),
        (
            {"specimen_date": date(1990, 2, 28)},
            "specimen_date",
            "The test date must be after the date of birth",
        ),
    ],
    ids=["future test", "future onset", "onset before birth", "test before birth"],
)
def test_an_impossible_case_date_is_refused_naming_its_field_and_nothing_is_saved(
    person, dates, field, message
):
    with pytest.raises(ValidationError) as refused:
        open_case(person=person, today=date(2021, 1, 13), **dates)

    assert refused.value.message_dict == {field: [message]}
    assert not Case.objects.exists()


def test_both_impossible_case_dates_are_reported_at_once(person):
    with pytest.raises(ValidationError) as refused:
        open_case(
            person=person,
            specimen_date=date(2021, 1, 20),
            symptom_onset=date(1980, 1, 1),
            today=date(2021, 1, 13),
        )

    assert set(refused.value.message_dict) == {"specimen_date", "symptom_onset"}


def test_a_case_tested_before_any_policy_took_effect_is_refused(person):
    with pytest.raises(NoPolicyInForce):
        open_case(person=person, specimen_date=date(2020, 5, 1), today=date(2020, 5, 2))

    assert not Case.objects.exists()


# --- transition_case -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_status", "to_status"), ALLOWED, ids=[f"{f}->{t}" for f, t in ALLOWED]
)
def test_an_allowed_transition_moves_the_case_and_is_recorded(
    from_status, to_status, tracer, supervisor
):
    case = case_in(from_status, assignee=tracer)

    moved = transition_case(
        case=case, to=to_status, by=supervisor, reason="routine", assign_to=tracer
    )

    assert Case.objects.get(pk=case.pk).status == to_status == moved.status
    assert list(
        CaseTransition.objects.filter(case=case).values_list(
            "from_status", "to_status", "by", "reason"
        )
    ) == [(from_status, to_status, supervisor.pk, "routine")]


@pytest.mark.parametrize(
    ("from_status", "to_status"), DISALLOWED, ids=[f"{f}->{t}" for f, t in DISALLOWED]
)
def test_a_disallowed_transition_is_refused_and_changes_nothing(
    from_status, to_status, tracer, supervisor
):
    case = case_in(from_status, assignee=tracer)

    with pytest.raises(TransitionNotAllowed) as refused:
        transition_case(case=case, to=to_status, by=supervisor, assign_to=tracer)

    assert (refused.value.from_status, refused.value.to_status) == (from_status, to_status)
    unchanged = Case.objects.get(pk=case.pk)
    assert (unchanged.status, unchanged.assigned_to_id, unchanged.closed_at) == (
        case.status,
        case.assigned_to_id,
        None,
    )
    assert not CaseTransition.objects.exists()


def test_the_transition_matrix_covers_every_pair_of_statuses():
    assert len(ALLOWED) + len(DISALLOWED) == len(STATUSES) ** 2
    assert set(ALLOWED_TRANSITIONS) == set(STATUSES)


def test_a_status_that_does_not_exist_is_not_a_transition(tracer):
    case = case_in(S.NEW, assignee=tracer)

    with pytest.raises(TransitionNotAllowed):
        transition_case(case=case, to="lost", by=None)

    assert Case.objects.get(pk=case.pk).status == S.NEW


def test_assigning_a_case_needs_someone_to_assign_it_to(tracer):
    case = case_in(S.NEW, assignee=tracer)

    with pytest.raises(ValidationError) as refused:
        transition_case(case=case, to=S.ASSIGNED, by=None)

    assert set(refused.value.message_dict) == {"assign_to"}
    assert Case.objects.get(pk=case.pk).status == S.NEW
    assert not CaseTransition.objects.exists()


def test_assigning_a_case_records_its_assignee(tracer):
    case = case_in(S.NEW, assignee=None)

    transition_case(case=case, to=S.ASSIGNED, by=None, assign_to=tracer)

    assert Case.objects.get(pk=case.pk).assigned_to == tracer


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        (S.ASSIGNED, S.NEW),
        (S.IN_PROGRESS, S.ESCALATED),
        (S.UNREACHABLE, S.CLOSED),
        (S.COMPLETED, S.CLOSED),
    ],
)
def test_returning_escalating_or_closing_a_case_clears_its_assignee(from_status, to_status, tracer):
    case = case_in(from_status, assignee=tracer)

    transition_case(case=case, to=to_status, by=None)

    assert Case.objects.get(pk=case.pk).assigned_to is None


def test_starting_work_on_a_case_keeps_its_assignee(tracer):
    case = case_in(S.ASSIGNED, assignee=tracer)

    transition_case(case=case, to=S.IN_PROGRESS, by=tracer)

    assert Case.objects.get(pk=case.pk).assigned_to == tracer


def test_closing_a_case_records_when_it_closed(tracer):
    case = case_in(S.COMPLETED, assignee=tracer)

    transition_case(case=case, to=S.CLOSED, by=None)

    assert Case.objects.get(pk=case.pk).closed_at is not None


def test_a_case_keeps_the_history_of_every_move(tracer, supervisor):
    case = case_in(S.NEW, assignee=None)

    for to in (S.ASSIGNED, S.IN_PROGRESS, S.COMPLETED, S.CLOSED):
        transition_case(case=case, to=to, by=supervisor, assign_to=tracer)

    assert list(case.transitions.values_list("from_status", "to_status")) == [
        (S.NEW, S.ASSIGNED),
        (S.ASSIGNED, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.COMPLETED),
        (S.COMPLETED, S.CLOSED),
    ]


def test_a_transition_uses_the_saved_status_not_a_stale_copy(tracer):
    case = case_in(S.NEW, assignee=None)
    stale = Case.objects.get(pk=case.pk)
    transition_case(case=case, to=S.CLOSED, by=None)

    with pytest.raises(TransitionNotAllowed):
        transition_case(case=stale, to=S.ASSIGNED, by=None, assign_to=tracer)
