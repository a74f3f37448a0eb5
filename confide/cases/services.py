"""Writes about cases: open a case under the policy in force, move it through its states."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from confide.cases.models import Case, CaseStatus, CaseTransition, Policy, TestResult
from confide.cases.policy import infectious_period, policy_in_force
from confide.cases.transitions import TransitionNotAllowed, check_transition
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
    case = _build_case(
        person=person,
        specimen_date=specimen_date,
        symptom_onset=symptom_onset,
        test_result=test_result,
        tier=tier,
        policy=policy_in_force(specimen_date),
    )
    with transaction.atomic():
        case.save(force_insert=True)
    return case


def _build_case(
    *,
    person: Person,
    specimen_date: date,
    symptom_onset: date | None,
    test_result: TestResult | None,
    tier: int,
    policy: Policy,
) -> Case:
    period = infectious_period(
        policy=policy, specimen_date=specimen_date, symptom_onset=symptom_onset
    )
    return Case(
        person=person,
        test_result=test_result,
        policy=policy,
        specimen_date=specimen_date,
        symptom_onset=symptom_onset,
        infectious_from=period.starts_on,
        infectious_until=period.ends_on,
        tier=tier,
    )


@dataclass(frozen=True)
class NewCase:
    """One case for `open_cases`, by ids. The caller passes the date of birth it already holds
    in clear (an import has just read it), so opening many cases decrypts nobody."""

    person_id: int
    specimen_date: date
    date_of_birth: date | None
    symptom_onset: date | None = None
    test_result_id: int | None = None
    tier: int = Tier.CLINICAL


class OpenedCase(NamedTuple):
    id: int
    reference: uuid.UUID


def open_cases(cases: Sequence[NewCase], *, today: date | None = None) -> list[OpenedCase]:
    """Open many cases in one insert (imports), with the same date checks and the same policy
    in force on each specimen date as `open_case`; returns the new cases' ids and references
    in order (so an import need not read them back). Raises ValidationError, saving nothing,
    if any case's dates are wrong."""
    from confide.bulk import insert_rows

    today = today or timezone.localdate()
    policies: dict[date, Policy] = {}
    rows: list[dict[str, object]] = []
    for new in cases:
        validate_case_dates(
            specimen_date=new.specimen_date,
            symptom_onset=new.symptom_onset,
            date_of_birth=new.date_of_birth,
            today=today,
        )
        if new.specimen_date not in policies:
            policies[new.specimen_date] = policy_in_force(new.specimen_date)
        policy = policies[new.specimen_date]
        period = infectious_period(
            policy=policy, specimen_date=new.specimen_date, symptom_onset=new.symptom_onset
        )
        rows.append(
            {
                "person_id": new.person_id,
                "test_result_id": new.test_result_id,
                "policy_id": policy.pk,
                "specimen_date": new.specimen_date,
                "symptom_onset": new.symptom_onset,
                "infectious_from": period.starts_on,
                "infectious_until": period.ends_on,
                "tier": int(new.tier),
                "reference": uuid.uuid4(),
            }
        )
    with transaction.atomic():
        ids = insert_rows(Case, rows)
    return [
        OpenedCase(pk, cast(uuid.UUID, row["reference"])) for pk, row in zip(ids, rows, strict=True)
    ]


def transition_case(
    *,
    case: Case,
    to: str,
    by: StaffMember | None,
    reason: str = "",
    assign_to: StaffMember | None = None,
    outcome: str = "",
) -> Case:
    """Move a case to a new status if the state machine allows it, recording the transition
    (and `outcome`, if given, as the case's outcome, in the same write).

    Raises TransitionNotAllowed (and changes nothing) otherwise.
    """
    if to == CaseStatus.ASSIGNED and assign_to is None:
        raise ValidationError({"assign_to": ["Choose who the case is assigned to"]})
    # Without a savepoint of its own (two statements fewer on every claim, call and completion):
    # nothing is raised inside the block, so a refused move leaves a caller's transaction usable.
    refused: TransitionNotAllowed | None = None
    with transaction.atomic(savepoint=False):
        locked = Case.objects.select_for_update().get(pk=case.pk)
        try:
            check_transition(locked.status, to)
        except TransitionNotAllowed as exc:
            refused = exc
        else:
            CaseTransition.objects.create(
                case=locked, from_status=locked.status, to_status=to, by=by, reason=reason
            )
            locked.status = to
            if to == CaseStatus.ASSIGNED:
                locked.assigned_to = assign_to
            elif to in (CaseStatus.NEW, CaseStatus.ESCALATED, CaseStatus.CLOSED):
                locked.assigned_to = None
            if to == CaseStatus.CLOSED:
                locked.closed_at = timezone.now()
            if outcome:
                locked.outcome = outcome[:200]
            locked.save(update_fields=["status", "assigned_to", "closed_at", "outcome"])
    if refused is not None:
        raise refused
    return locked
