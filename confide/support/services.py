"""Writes for isolation support: the person's application, the officer's decisions, payments,
practical help, and forgetting it all when the person is erased.

Each service validates first, then writes in one transaction with its access-log entry, so bad
input is never half-saved and every read or change of personal data is logged.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from confide.people.models import Person
from confide.privacy.audit import Access, record_access
from confide.privacy.crypto import SubjectKey, unwrap_data_key
from confide.privacy.models import AccessAction
from confide.staff.models import StaffMember
from confide.support.bank import BankDetails, bank_account_index, validate_bank_details
from confide.support.eligibility import (
    BENEFIT_CHOICES,
    EMPLOYMENT_CHOICES,
    QUESTIONS,
    WORK_FROM_HOME_CHOICES,
    assess_eligibility,
)
from confide.support.evidence import check_evidence
from confide.support.models import (
    APPLICATION_SEALED_FIELDS,
    ApplicationState,
    DecisionKind,
    HelpKind,
    PracticalHelpRequest,
    SupportApplication,
    SupportDecision,
    SupportEvidence,
    SupportPayment,
)

if TYPE_CHECKING:
    from confide.support.periods import IsolationPeriod

APPLICATION = "support_application"
HELP_REQUEST = "support_help_request"
_CHOICES = {
    "employment": EMPLOYMENT_CHOICES,
    "work_from_home": WORK_FROM_HOME_CHOICES,
    "benefit": BENEFIT_CHOICES,
}


class ClaimWindowClosed(Exception):
    """Isolation started too long ago for a claim (CONFIDE_SUPPORT_CLAIM_WINDOW_DAYS)."""


class ApplicationNotEditable(Exception):
    """The application was already submitted: answers cannot change any more."""


class NotEligible(Exception):
    """Submitted answers do not meet the scheme's conditions."""


class DecisionNotAllowed(Exception):
    """The application is not in a state that allows this step (someone else acted first)."""


class AlreadyPaid(Exception):
    """A payment for this person and isolation period exists (the database refused another)."""


def _key(application: SupportApplication | PracticalHelpRequest) -> SubjectKey:
    return unwrap_data_key(application.data_key)


def _log(
    *,
    action: str,
    purpose: str,
    person: Person,
    object_type: str,
    reference: object,
    by: StaffMember | None = None,
) -> None:
    record_access(
        Access(
            action=action,
            purpose=purpose,
            actor_reference=by.reference if by is not None else None,
            subject_reference=person.reference,
            object_type=object_type,
            object_reference=str(reference),
        )
    )


def _log_application(
    application: SupportApplication, what: str, *, by: StaffMember | None = None
) -> None:
    _log(
        action=AccessAction.UPDATE,
        purpose=f"Support application {application.reference}: {what}",
        person=application.person,
        object_type=APPLICATION,
        reference=application.reference,
        by=by,
    )


@contextmanager
def _locked_in(
    application: SupportApplication, states: Collection[str], refused: type[Exception]
) -> Iterator[SupportApplication]:
    """The application, locked to the end of one transaction, provided it is in one of
    `states` (checked after the lock, so two officers or two tabs cannot both act)."""
    with transaction.atomic():
        locked = (
            SupportApplication.objects.select_for_update(of=("self",))
            .select_related("data_key", "person")
            .get(pk=application.pk)
        )
        if locked.state not in states:
            raise refused
        yield locked


def _draft(application: SupportApplication) -> AbstractContextManager[SupportApplication]:
    """`with _draft(application) as locked:` the person's draft, locked; refused once sent."""
    return _locked_in(application, {ApplicationState.DRAFT}, ApplicationNotEditable)


# --- the person's application ----------------------------------------------------------------


def start_application(*, period: IsolationPeriod, today: date) -> SupportApplication:
    """The person's application for this period: their draft, or the one already sent."""
    if not period.open_for_claims(today=today):
        raise ClaimWindowClosed
    lookup: dict[str, Any] = {"person": period.person}
    if period.exposure is not None:
        lookup["exposure"] = period.exposure
    else:
        lookup["case"] = period.case
    existing = SupportApplication.objects.filter(**lookup).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            application = SupportApplication.objects.create(
                **lookup,
                data_key=period.person.data_key,
                isolation_starts_on=period.starts_on,
                isolation_ends_on=period.ends_on,
            )
            _log(
                action=AccessAction.CREATE,
                purpose=f"Support application {application.reference}: started by the person",
                person=period.person,
                object_type=APPLICATION,
                reference=application.reference,
            )
    except IntegrityError:
        # A second tab (or a double click) started it at the same moment: one per period.
        return SupportApplication.objects.get(**lookup)
    return application


def application_answers(application: SupportApplication) -> dict[str, str]:
    sealed = application.answers_sealed
    return json.loads(_key(application).open("support.answers", sealed) or "{}")


def answer_question(*, application: SupportApplication, question: str, answer: str) -> None:
    """Save one eligibility answer (each question is its own page)."""
    if question not in QUESTIONS:
        raise ValueError(f"unknown question {question}")
    if answer not in {code for code, _label in _CHOICES[question]}:
        raise ValidationError({"answer": [_("Select an answer")]})
    with _draft(application) as locked:
        answers = application_answers(locked)
        answers[question] = answer
        locked.answers_sealed = _key(locked).seal("support.answers", json.dumps(answers))
        locked.save(update_fields=["answers_sealed", "updated_at"])


def save_bank_details(
    *, application: SupportApplication, account_name: str, sort_code: str, account_number: str
) -> BankDetails:
    details = validate_bank_details(
        account_name=account_name, sort_code=sort_code, account_number=account_number
    )
    with _draft(application) as locked:
        key = _key(locked)
        locked.account_name_sealed = key.seal("support.account_name", details.account_name)
        locked.sort_code_sealed = key.seal("support.sort_code", details.sort_code)
        locked.account_number_sealed = key.seal("support.account_number", details.account_number)
        locked.bank_account_index = bank_account_index(details)
        locked.save()
    return details


def add_evidence(*, application: SupportApplication, content: bytes) -> SupportEvidence:
    """Check the file by its content and size, then store it sealed (never in clear)."""
    content_type = check_evidence(content)
    with _draft(application) as locked:
        encoded = base64.b64encode(content).decode("ascii")
        return SupportEvidence.objects.create(
            application=locked,
            content_type=content_type,
            size=len(content),
            content_sealed=_key(locked).seal("support.evidence", encoded),
        )


def remove_evidence(*, application: SupportApplication, evidence_id: int) -> None:
    with _draft(application) as locked:
        SupportEvidence.objects.filter(application=locked, pk=evidence_id).delete()


def _missing(application: SupportApplication, answers: dict[str, str]) -> dict[str, list[Any]]:
    missing: dict[str, list[Any]] = {}
    for question in QUESTIONS:
        if question not in answers:
            missing[question] = [_("Answer this question")]
    if application.account_number_sealed is None:
        missing["bank_details"] = [_("Enter your bank details")]
    if not application.evidence.exists():
        missing["evidence"] = [_("Upload evidence of your income or benefit")]
    return missing


def _flag_duplicate_bank_details(application: SupportApplication) -> None:
    """Flag this and every other applicant's sent application paying into the same account."""
    index = application.bank_account_index
    if index is None:
        return
    if connection.vendor == "postgresql":
        # Two people sending the same account at once must still see each other.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"support-bank:{index}"])
    others = list(
        SupportApplication.objects.filter(bank_account_index=index)
        .exclude(person_id=application.person_id)
        .exclude(state=ApplicationState.DRAFT)
    )
    if not others:
        return
    newly = [a for a in others if not a.fraud_review] + [application]
    SupportApplication.objects.filter(pk__in=[a.pk for a in newly]).update(fraud_review=True)
    application.fraud_review = True
    SupportDecision.objects.bulk_create(
        [SupportDecision(application=a, kind=DecisionKind.FLAGGED) for a in newly]
    )


def submit_application(*, application: SupportApplication) -> SupportApplication:
    """Send a complete, eligible draft for review; flags duplicate bank details."""
    with _draft(application) as locked:
        answers = application_answers(locked)
        missing = _missing(locked, answers)
        if missing:
            raise ValidationError(missing)
        eligibility = assess_eligibility(answers)
        if not eligibility.eligible:
            raise NotEligible
        locked.state = ApplicationState.SUBMITTED
        locked.scheme = eligibility.scheme
        locked.submitted_at = timezone.now()
        locked.save()
        SupportDecision.objects.create(application=locked, kind=DecisionKind.SUBMITTED)
        _flag_duplicate_bank_details(locked)
        _log_application(locked, "sent by the person")
    return locked


# --- the local authority's decisions ---------------------------------------------------------


def _decide(
    *,
    application: SupportApplication,
    by: StaffMember,
    kind: str,
    to_state: str,
    allowed_from: set[str],
    reason: str = "",
) -> SupportApplication:
    with _locked_in(application, allowed_from, DecisionNotAllowed) as locked:
        locked.state = to_state
        locked.decided_at = timezone.now()
        locked.decided_by = by
        locked.save()
        SupportDecision.objects.create(
            application=locked,
            kind=kind,
            by=by,
            reason_sealed=_key(locked).seal("support.decision_reason", reason),
        )
        _log_application(locked, DecisionKind(kind).label.lower(), by=by)
    return locked


def approve_application(
    *, application: SupportApplication, by: StaffMember, duplicate_checked: bool, reason: str = ""
) -> SupportApplication:
    """Approve a sent application. One flagged for duplicate bank details needs the officer to
    say they checked the other applications first."""
    if application.fraud_review and not duplicate_checked:
        raise ValidationError(
            {
                "duplicate_checked": [
                    "Confirm you have checked the other applications with these bank details"
                ]
            }
        )
    return _decide(
        application=application,
        by=by,
        kind=DecisionKind.APPROVED,
        to_state=ApplicationState.APPROVED,
        allowed_from={ApplicationState.SUBMITTED},
        reason=reason.strip(),
    )


def reject_application(
    *, application: SupportApplication, by: StaffMember, reason: str
) -> SupportApplication:
    if not reason.strip():
        raise ValidationError({"reason": ["Enter the reason for rejecting the application"]})
    return _decide(
        application=application,
        by=by,
        kind=DecisionKind.REJECTED,
        to_state=ApplicationState.REJECTED,
        allowed_from={ApplicationState.SUBMITTED, ApplicationState.APPROVED},
        reason=reason.strip(),
    )


def record_payment(
    *,
    application: SupportApplication,
    by: StaffMember,
    paid_on: date,
    amount_pence: int,
    payment_reference: str,
    today: date,
) -> SupportPayment:
    """Record the payment of an approved application; at most one per person per isolation
    period, which the database itself enforces."""
    errors: dict[str, list[str]] = {}
    if paid_on > today:
        errors["paid_on"] = ["Date paid must be today or in the past"]
    elif paid_on < application.isolation_starts_on:
        errors["paid_on"] = ["Date paid must be after the isolation started"]
    if amount_pence <= 0:
        errors["amount"] = ["Amount must be more than £0"]
    elif amount_pence > settings.CONFIDE_SUPPORT_PAYMENT_PENCE:
        errors["amount"] = [
            f"Amount must be £{settings.CONFIDE_SUPPORT_PAYMENT_PENCE / 100:,.2f} or less"
        ]
    reference = payment_reference.strip()
    if not reference:
        errors["payment_reference"] = ["Enter the payment reference"]
    elif len(reference) > 40:
        errors["payment_reference"] = ["Payment reference must be 40 characters or fewer"]
    if errors:
        raise ValidationError(errors)
    try:
        with _locked_in(application, {ApplicationState.APPROVED}, DecisionNotAllowed) as locked:
            payment = SupportPayment.objects.create(
                application=locked,
                person=locked.person,
                exposure_id=locked.exposure_id,
                case_id=locked.case_id,
                paid_on=paid_on,
                amount_pence=amount_pence,
                payment_reference=reference,
                recorded_by=by,
            )
            locked.state = ApplicationState.PAID
            locked.save(update_fields=["state", "updated_at"])
            SupportDecision.objects.create(application=locked, kind=DecisionKind.PAID, by=by)
            _log_application(locked, "payment recorded", by=by)
    except IntegrityError as exc:
        raise AlreadyPaid from exc
    return payment


# --- practical help ---------------------------------------------------------------------------


def request_practical_help(
    *, period: IsolationPeriod, kind: str, details: str
) -> PracticalHelpRequest:
    errors: dict[str, list[Any]] = {}
    if kind not in HelpKind.values:
        errors["kind"] = [_("Select what you need help with")]
    text = details.strip()
    if not text:
        errors["details"] = [_("Tell us what you need")]
    elif len(text) > 1000:
        errors["details"] = [_("What you need must be 1,000 characters or fewer")]
    if errors:
        raise ValidationError(errors)
    person = period.person
    with transaction.atomic():
        request = PracticalHelpRequest(
            person=person,
            data_key=person.data_key,
            exposure=period.exposure,
            case=period.case,
            kind=kind,
            routed_to=settings.CONFIDE_SUPPORT_LOCAL_CONTACT[:200],
        )
        request.details_sealed = unwrap_data_key(person.data_key).seal("support.help_details", text)
        request.save()
        _log(
            action=AccessAction.CREATE,
            purpose=f"Practical help request {request.reference}: made by the person",
            person=person,
            object_type=HELP_REQUEST,
            reference=request.reference,
        )
    return request


def mark_help_handled(*, request: PracticalHelpRequest, by: StaffMember) -> PracticalHelpRequest:
    with transaction.atomic():
        locked = PracticalHelpRequest.objects.select_for_update().get(pk=request.pk)
        if locked.handled_at is not None:
            raise DecisionNotAllowed
        locked.handled_at = timezone.now()
        locked.handled_by = by
        locked.save(update_fields=["handled_at", "handled_by"])
        _log(
            action=AccessAction.UPDATE,
            purpose=f"Practical help request {locked.reference}: handled",
            person=locked.person,
            object_type=HELP_REQUEST,
            reference=locked.reference,
            by=by,
        )
    return locked


# --- erasure and retention --------------------------------------------------------------------


def _shred(applications: list[int], help_requests: list[int]) -> None:
    cleared: dict[str, Any] = {f"{name}_sealed": None for name in APPLICATION_SEALED_FIELDS}
    SupportApplication.objects.filter(pk__in=applications).update(
        bank_account_index=None, **cleared
    )
    SupportEvidence.objects.filter(application_id__in=applications).update(content_sealed=None)
    SupportDecision.objects.filter(application_id__in=applications).update(reason_sealed=None)
    PracticalHelpRequest.objects.filter(pk__in=help_requests).update(details_sealed=None)


def forget_support(*, person: Person) -> None:
    """Part of erasing a person: their key is destroyed by the caller; this drops the sealed
    values and the bank-account blind index (a keyed hash still links equal accounts). The
    rows stay, with dates, states and amounts only, so statistics and audit keep their shape."""
    _shred(
        list(SupportApplication.objects.filter(person=person).values_list("pk", flat=True)),
        list(PracticalHelpRequest.objects.filter(person=person).values_list("pk", flat=True)),
    )


def move_support_to_stand_in(
    *, stand_in: Person, exposure_id: int | None = None, case_id: int | None = None
) -> None:
    """Retention of a person still needed: the support records of one expired exposure or case
    are shredded and moved onto the anonymous stand-in that record now points at."""
    period: dict[str, int | None] = (
        {"exposure_id": exposure_id} if exposure_id is not None else {"case_id": case_id}
    )
    applications = list(SupportApplication.objects.filter(**period).values_list("pk", flat=True))
    helps = list(PracticalHelpRequest.objects.filter(**period).values_list("pk", flat=True))
    _shred(applications, helps)
    SupportApplication.objects.filter(pk__in=applications).update(
        person=stand_in, data_key=stand_in.data_key
    )
    SupportPayment.objects.filter(**period).update(person=stand_in)
    PracticalHelpRequest.objects.filter(pk__in=helps).update(
        person=stand_in, data_key=stand_in.data_key
    )
