"""Reads for isolation support: queues (keyset-paginated, no personal data), the review of one
application (each decryption logged), and a person's support records for subject access."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.selectors import read_person
from confide.privacy.audit import Access, record_access
from confide.privacy.crypto import unwrap_data_key
from confide.privacy.keys import DataKeyDestroyed
from confide.privacy.models import AccessAction
from confide.public.access import PublicVisitor
from confide.staff.models import StaffMember
from confide.support.bank import masked_account_number, masked_sort_code
from confide.support.eligibility import QUESTIONS, answer_label, assess_eligibility
from confide.support.models import (
    ApplicationState,
    PracticalHelpRequest,
    SupportApplication,
    SupportDecision,
    SupportEvidence,
    SupportPayment,
)
from confide.support.services import APPLICATION, application_answers

PAGE_SIZE = 25


def application_for_visitor(visitor: PublicVisitor) -> SupportApplication | None:
    """The visitor's own application for the period they verified through, if any."""
    period: dict[str, Any] = (
        {"exposure_id": visitor.exposure_id}
        if visitor.role == "contact"
        else {"case_id": visitor.case_id}
    )
    return (
        SupportApplication.objects.filter(person_id=visitor.person_id, **period)
        .select_related("data_key", "person")
        .first()
    )


def masked_bank_details(application: SupportApplication) -> dict[str, str]:
    """The person's own bank details, masked, for their check-your-answers page."""
    if application.account_number_sealed is None:
        return {}
    key = unwrap_data_key(application.data_key)
    return {
        "account_name": key.open("support.account_name", application.account_name_sealed) or "",
        "sort_code": masked_sort_code(key.open("support.sort_code", application.sort_code_sealed)),
        "account_number": masked_account_number(
            key.open("support.account_number", application.account_number_sealed)
        ),
    }


# --- queues -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuePage:
    items: list[Any]
    next_cursor: str | None


def _cursor(moment: datetime, pk: int) -> str:
    return f"{moment.isoformat()}_{pk}"


def _after(cursor: str | None, field: str) -> Q:
    """Rows after the cursor in (field, id) order: one indexed range, however deep the page."""
    if not cursor or "_" not in cursor:
        return Q()
    moment_text, _sep, pk_text = cursor.rpartition("_")
    moment = parse_datetime(moment_text)
    if moment is None or not pk_text.isdigit():
        return Q()
    return Q(**{f"{field}__gt": moment}) | Q(**{field: moment, "pk__gt": int(pk_text)})


def _page(rows: QuerySet[Any], field: str, cursor: str | None) -> QueuePage:
    items = list(rows.filter(_after(cursor, field)).order_by(field, "pk")[: PAGE_SIZE + 1])
    more = len(items) > PAGE_SIZE
    items = items[:PAGE_SIZE]
    last = items[-1] if more else None
    return QueuePage(items, _cursor(getattr(last, field), last.pk) if last is not None else None)


QUEUE_STATES = (ApplicationState.SUBMITTED, ApplicationState.APPROVED)


def application_queue(*, state: str, cursor: str | None = None) -> QueuePage:
    """Sent applications in one state, oldest first. References, dates and flags only."""
    return _page(SupportApplication.objects.filter(state=state), "submitted_at", cursor)


def help_queue(*, cursor: str | None = None) -> QueuePage:
    return _page(PracticalHelpRequest.objects.filter(handled_at__isnull=True), "created_at", cursor)


def application_or_none(reference: uuid.UUID | str) -> SupportApplication | None:
    """A sent application (drafts are the person's own business until they send them)."""
    try:
        return (
            SupportApplication.objects.exclude(state=ApplicationState.DRAFT)
            .select_related("data_key", "person", "person__data_key")
            .filter(reference=reference)
            .first()
        )
    except (ValueError, TypeError):
        return None


def help_request_or_none(reference: uuid.UUID | str) -> PracticalHelpRequest | None:
    try:
        return (
            PracticalHelpRequest.objects.select_related("data_key", "person", "person__data_key")
            .filter(reference=reference)
            .first()
        )
    except (ValueError, TypeError):
        return None


# --- one application, for the officer ----------------------------------------------------------


@dataclass(frozen=True)
class ApplicationReview:
    application: SupportApplication
    applicant: PersonDetails
    answers: list[tuple[str, Any]]
    eligible: bool
    account_name: str
    masked_sort_code: str
    masked_account_number: str
    evidence: list[SupportEvidence]
    decisions: list[tuple[SupportDecision, str]]
    duplicates: int
    payment: SupportPayment | None


QUESTION_LABELS = {
    "employment": "Employed or self-employed",
    "work_from_home": "Can they work from home",
    "benefit": "Qualifying benefit or low income",
}


def review_application(*, application: SupportApplication, by: StaffMember) -> ApplicationReview:
    """What the officer needs to decide, read through `read_person` and logged as a view of the
    application. Bank details are masked here; revealing them is a separate, logged read."""
    purpose = f"Support application {application.reference}: review"
    applicant = read_person(application.person, by=by, purpose=purpose)
    key = unwrap_data_key(application.data_key)
    answers = application_answers(application)
    decisions = [
        (d, key.open("support.decision_reason", d.reason_sealed) or "")
        for d in SupportDecision.objects.filter(application=application).select_related("by")
    ]
    duplicates = (
        SupportApplication.objects.filter(bank_account_index=application.bank_account_index)
        .exclude(person_id=application.person_id)
        .exclude(state=ApplicationState.DRAFT)
        .count()
        if application.bank_account_index
        else 0
    )
    return ApplicationReview(
        application=application,
        applicant=applicant,
        answers=[(QUESTION_LABELS[q], answer_label(q, answers.get(q))) for q in QUESTIONS],
        eligible=assess_eligibility(answers).eligible,
        account_name=key.open("support.account_name", application.account_name_sealed) or "",
        masked_sort_code=masked_sort_code(
            key.open("support.sort_code", application.sort_code_sealed)
        ),
        masked_account_number=masked_account_number(
            key.open("support.account_number", application.account_number_sealed)
        ),
        evidence=list(SupportEvidence.objects.filter(application=application).order_by("pk")),
        decisions=decisions,
        duplicates=duplicates,
        payment=SupportPayment.objects.filter(application=application).first(),
    )


@dataclass(frozen=True)
class RevealedBankDetails:
    account_name: str
    sort_code: str
    account_number: str


def reveal_bank_details(*, application: SupportApplication, by: StaffMember) -> RevealedBankDetails:
    """The full bank details, for making the payment: a logged read of its own."""
    record_access(
        Access(
            action=AccessAction.VIEW,
            purpose=f"Support application {application.reference}: bank details revealed",
            actor_reference=by.reference,
            subject_reference=application.person.reference,
            object_type=APPLICATION,
            object_reference=str(application.reference),
        )
    )
    key = unwrap_data_key(application.data_key)
    return RevealedBankDetails(
        account_name=key.open("support.account_name", application.account_name_sealed) or "",
        sort_code=key.open("support.sort_code", application.sort_code_sealed) or "",
        account_number=key.open("support.account_number", application.account_number_sealed) or "",
    )


def open_evidence(
    *, application: SupportApplication, evidence_id: int, by: StaffMember
) -> tuple[SupportEvidence, bytes] | None:
    """One evidence file's content, for viewing: a logged read."""
    evidence = SupportEvidence.objects.filter(application=application, pk=evidence_id).first()
    if evidence is None or evidence.content_sealed is None:
        return None
    record_access(
        Access(
            action=AccessAction.VIEW,
            purpose=f"Support application {application.reference}: evidence {evidence.pk} viewed",
            actor_reference=by.reference,
            subject_reference=application.person.reference,
            object_type=APPLICATION,
            object_reference=str(application.reference),
        )
    )
    encoded = unwrap_data_key(application.data_key).open(
        "support.evidence", evidence.content_sealed
    )
    return evidence, base64.b64decode(encoded or "")


@dataclass(frozen=True)
class HelpRequestView:
    request: PracticalHelpRequest
    details: str
    first_name: str
    phone: str
    email: str


def read_help_request(*, request: PracticalHelpRequest, by: StaffMember) -> HelpRequestView:
    """What the local support contact needs to help: the request and how to reach the person."""
    purpose = f"Practical help request {request.reference}: arranging help"
    person = read_person(request.person, by=by, purpose=purpose)
    key = unwrap_data_key(request.data_key)
    return HelpRequestView(
        request=request,
        details=key.open("support.help_details", request.details_sealed) or "",
        first_name=person.given_name,
        phone=person.phone,
        email=person.email,
    )


# --- subject access -------------------------------------------------------------------------


def _moment(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def support_export(person: Person) -> dict[str, Any]:
    """The person's support applications (with every decision and the reasons given), payments
    and help requests, decrypted, for their subject access export. Bank details are masked:
    the person knows their own account, and the export may be sent by post."""
    try:
        key = unwrap_data_key(person.data_key) if person.erased_at is None else None
    except DataKeyDestroyed:
        key = None

    def opened(field: str, sealed: Any) -> str:
        return (key.open(field, sealed) or "") if key is not None and sealed is not None else ""

    applications = []
    for application in SupportApplication.objects.filter(person=person).order_by("created_at"):
        answers = application_answers(application) if key is not None else {}
        payment = SupportPayment.objects.filter(application=application).first()
        applications.append(
            {
                "reference": str(application.reference),
                "isolation": f"{application.isolation_starts_on} to "
                f"{application.isolation_ends_on}",
                "state": application.get_state_display(),
                "scheme": application.get_scheme_display() if application.scheme else "",
                "answers": {q: str(answer_label(q, answers.get(q))) for q in QUESTIONS},
                "bank_account": masked_account_number(
                    opened("support.account_number", application.account_number_sealed)
                ),
                "evidence_files": [
                    {
                        "type": e.content_type,
                        "size_bytes": e.size,
                        "uploaded": _moment(e.uploaded_at),
                    }
                    for e in application.evidence.order_by("pk")
                ],
                "submitted": _moment(application.submitted_at),
                "flagged_for_fraud_review": application.fraud_review,
                "decisions": [
                    {
                        "at": _moment(d.at),
                        "decision": d.get_kind_display(),
                        "by": "A local authority support officer" if d.by_id else "Confide",
                        "reason": opened("support.decision_reason", d.reason_sealed),
                    }
                    for d in application.decisions.all()
                ],
                "payment": (
                    {
                        "paid_on": payment.paid_on.isoformat(),
                        "amount": f"£{payment.amount_pence / 100:,.2f}",
                        "payment_reference": payment.payment_reference,
                    }
                    if payment is not None
                    else None
                ),
            }
        )
    help_requests = [
        {
            "reference": str(h.reference),
            "made": _moment(h.created_at),
            "kind": h.get_kind_display(),
            "details": opened("support.help_details", h.details_sealed),
            "routed_to": h.routed_to,
            "handled": _moment(h.handled_at),
        }
        for h in PracticalHelpRequest.objects.filter(person=person).order_by("created_at")
    ]
    return {"applications": applications, "help_requests": help_requests}


def support_references(person: Person) -> set[str]:
    """The person's own support references (so the export's access history shows them)."""
    return {
        str(r)
        for r in SupportApplication.objects.filter(person=person).values_list(
            "reference", flat=True
        )
    } | {
        str(r)
        for r in PracticalHelpRequest.objects.filter(person=person).values_list(
            "reference", flat=True
        )
    }
