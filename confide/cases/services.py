"""Writes about cases: open a case under the policy in force, move it through its states."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from confide.cases.models import Case, CaseStatus, CaseTransition, TestResult
from confide.cases.policy import infectious_period, policy_in_force
from confide.cases.transitions import check_transition
from confide.people.models import Person
from confide.people.selectors import person_details
from confide.people.validation import check_event_date
from confide.staff.models import StaffMember, Tier


def validate_case_dates(
    *, specimen_date: date, symptom_onset: date | None, date_of_birth: date | None, today: date
) -> None:
    errors: dict[str, list[str]] = {}
    try:
        check_event_date(specimen_date, today=today, date_of_birth=date_of_birth, what="test date")
    except ValidationError as exc:
        errors["specimen_date"] = exc.messages
    if symptom_onset is not None:
        try:
            check_event_date(
                symptom_onset,
                today=today,
                date_of_birth=date_of_birth,
                what="date symptoms started",
            )
        except ValidationError as exc:
            errors["symptom_onset"] = exc.messages
    if errors:
        raise ValidationError(errors)


def open_case(
    *,
    person: Person,
    specimen_date: date,
    symptom_onset: date | None = None,
    test_result: TestResult | None = None,
    tier: int = Tier.CLINICAL,
    by: StaffMember | None = None,
    today: date | None = None,
) -> Case:
    """Open a case under the policy in force on the specimen date, its infectious period set."""
    today = today or timezone.localdate()
    validate_case_dates(
        specimen_date=specimen_date,
        symptom_onset=symptom_onset,
        date_of_birth=person_details(person).date_of_birth,
        today=today,
    )
    policy = policy_in_force(specimen_date)
    period = infectious_period(
        policy=policy, specimen_date=specimen_date, symptom_onset=symptom_onset
    )
    with transaction.atomic():
        return Case.objects.create(
            person=person,
            test_result=test_result,
            policy=policy,
            specimen_date=specimen_date,
            symptom_onset=symptom_onset,
            infectious_from=period.starts_on,
            infectious_until=period.ends_on,
            tier=tier,
        )


def transition_case(
    *,
    case: Case,
    to: str,
    by: StaffMember | None,
    reason: str = "",
    assign_to: StaffMember | None = None,
) -> Case:
    """Move a case to a new status if the state machine allows it, recording the transition.

    Raises TransitionNotAllowed (and changes nothing) otherwise.
    """
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        check_transition(locked.status, to)
        CaseTransition.objects.create(
            case=locked, from_status=locked.status, to_status=to, by=by, reason=reason
        )
        locked.status = to
        if to == CaseStatus.ASSIGNED:
            if assign_to is None:
                raise ValidationError({"assign_to": ["Choose who the case is assigned to"]})
            locked.assigned_to = assign_to
        elif to in (CaseStatus.NEW, CaseStatus.ESCALATED, CaseStatus.CLOSED):
            locked.assigned_to = None
        if to == CaseStatus.CLOSED:
            locked.closed_at = timezone.now()
        locked.save()
    return locked
