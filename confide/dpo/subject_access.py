"""Subject access and rights (UK GDPR Art. 15, 16, 17) for a person the DPO has verified.

The export holds everything Confide keeps about the person, decrypted, and nothing about anyone
else. In particular a contact's export never says who named them: the case that named a contact
is a third party, and their identity is exempt from the right of access (Data Protection Act
2018 Sch. 2 para. 16, "protection of the rights of others"; it would also break the promise
that lets cases name contacts at all). So exposures are given as the contact's own dates,
proximity and notifications only, and any reference in the access log to a record that is not
the person's own is masked.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from confide.cases.models import Case, TestResult
from confide.dpo.models import (
    DisclosureSubject,
    SubjectAccessRequest,
    VerificationMethod,
)
from confide.dpo.retention import OPEN_CASE_STATUSES, case_isolation_ends_on
from confide.messaging.models import Message
from confide.messaging.services import preview
from confide.people.details import PersonDetails
from confide.people.models import Person, SafeguardingFlag
from confide.people.selectors import person_details, read_person, search_population
from confide.people.services import PersonErased, erase_person, rectify_person
from confide.privacy.audit import Access, record_access
from confide.privacy.crypto import unwrap_data_key
from confide.privacy.keys import DataKeyDestroyed
from confide.privacy.models import AccessAction, AccessEvent
from confide.staff.models import Role, StaffMember
from confide.support.selectors import support_export, support_references
from confide.tracing.models import Exposure, FollowUp, SettingVisit
from confide.workqueue.models import CallAttempt

PERSON_FIELD_LABELS = {
    "given_name": "First name",
    "family_name": "Last name",
    "date_of_birth": "Date of birth",
    "nhs_number": "NHS number",
    "phone": "Phone number",
    "email": "Email address",
    "address": "Address",
    "postcode": "Postcode",
}
MASKED_REFERENCE = "[a record about someone else]"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class SubjectNotFound(Exception):
    """The search found nobody, or more than one record (a duplicate awaiting a merge)."""


class ErasureNotAllowed(Exception):
    """Erasure refused where the law does not allow it; the message says why."""


def record_subject_access_request(
    *,
    by: StaffMember,
    verification: str,
    nhs_number: str = "",
    phone: str = "",
    email: str = "",
) -> SubjectAccessRequest:
    """Find the verified person through the logged population search (its access events name
    this request) and record the request. Exactly one person must match."""
    if verification not in VerificationMethod.values:
        raise ValidationError({"verification": ["Choose how you verified the person’s identity"]})
    reference = uuid.uuid4()
    people = search_population(
        by=by,
        purpose=(
            f"Subject access request {reference}: identity verified "
            f"({VerificationMethod(verification).label})"
        ),
        nhs_number=nhs_number,
        phone=phone,
        email=email,
    )
    if not people:
        raise SubjectNotFound(
            "We hold no record with these details. Check them with the person, or tell them we "
            "hold nothing about them."
        )
    if len(people) > 1:
        raise SubjectNotFound(
            f"{len(people)} records match. Search by NHS number to find one person; if one "
            "person has two records, ask a supervisor to merge them first."
        )
    return SubjectAccessRequest.objects.create(
        reference=reference, person=people[0], verification=verification, recorded_by=by
    )


def _purpose(request: SubjectAccessRequest, what: str) -> str:
    return f"Subject access request {request.reference}: {what}"


def erasure_refusal(person: Person, *, today: date) -> str | None:
    """Why erasure is not allowed now (UK GDPR Art. 17(3)(c): public health), or None."""
    if person.erased_at is not None:
        return "This person’s details have already been erased."
    cases = list(Case.objects.filter(person=person).select_related("policy"))
    if any(case.status in OPEN_CASE_STATUSES for case in cases):
        return (
            "They have an open case. Their details are needed to trace their contacts, a task "
            "in the public interest in public health (UK GDPR Art. 17(3)(c)); erase them once "
            "the case is completed and their isolation has ended."
        )
    isolating_until = [case_isolation_ends_on(c) for c in cases] + list(
        Exposure.objects.filter(contact=person).values_list("isolation_ends_on", flat=True)
    )
    live = [day for day in isolating_until if day >= today]
    if live:
        return (
            f"Their isolation has not ended (it ends on {max(live):%-d %B %Y}). Their details "
            "are needed to support and follow them up while they isolate, a task in the public "
            "interest in public health (UK GDPR Art. 17(3)(c)); erase them after that day."
        )
    return None


def current_details(*, request: SubjectAccessRequest, by: StaffMember) -> PersonDetails:
    """The person's details for the rectification form (a logged read)."""
    return read_person(request.person, by=by, purpose=_purpose(request, "rectification"))


def rectify_subject(
    *, request: SubjectAccessRequest, by: StaffMember, details: PersonDetails
) -> Person:
    """Art. 16: replace the person's details (ValidationError by field), logged as a change."""
    with transaction.atomic():
        person = rectify_person(person=request.person, details=details)
        record_access(
            Access(
                action=AccessAction.UPDATE,
                purpose=_purpose(request, "details rectified at the person’s request"),
                actor_reference=by.reference,
                subject_reference=person.reference,
                object_type="subject_access_request",
                object_reference=str(request.reference),
            )
        )
    return person


def erase_subject(*, request: SubjectAccessRequest, by: StaffMember, today: date) -> None:
    """Art. 17: crypto-shred the person, where the law allows (else ErasureNotAllowed)."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=request.person_id)
        refusal = erasure_refusal(person, today=today)
        if refusal is not None:
            raise ErasureNotAllowed(refusal)
        erase_person(person=person)
        record_access(
            Access(
                action=AccessAction.ERASE,
                purpose=_purpose(request, "erased at the person’s request"),
                actor_reference=by.reference,
                subject_reference=person.reference,
                object_type="subject_access_request",
                object_reference=str(request.reference),
            )
        )


# --- the export ---------------------------------------------------------------------------------


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _moment(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _person_section(person: Person) -> dict[str, Any]:
    section: dict[str, Any] = {
        "reference": str(person.reference),
        "preferred_language": person.get_preferred_language_display(),
        "record_created": _moment(person.created_at),
        "erased": _moment(person.erased_at),
        "details": {},
    }
    try:
        details = person_details(person).as_strings()
    except (PersonErased, DataKeyDestroyed):
        return section
    section["details"] = {PERSON_FIELD_LABELS[name]: value or "" for name, value in details.items()}
    return section


def _cases(person: Person) -> list[dict[str, Any]]:
    out = []
    cases = Case.objects.filter(person=person).select_related("policy").order_by("specimen_date")
    for case in cases:
        visits = SettingVisit.objects.filter(case=case).select_related("setting__data_key")
        places = []
        for visit in visits.order_by("visited_on", "pk"):
            setting = visit.setting
            try:
                key = unwrap_data_key(setting.data_key)
                address = key.open("setting.address", setting.address_sealed) or ""
                postcode = key.open("setting.postcode", setting.postcode_sealed) or ""
            except DataKeyDestroyed:
                address = postcode = ""
            places.append(
                {
                    "visited_on": _day(visit.visited_on),
                    "kind": setting.get_kind_display(),
                    "name": setting.name,
                    "address": address,
                    "postcode": postcode,
                }
            )
        out.append(
            {
                "reference": str(case.reference),
                "specimen_date": _day(case.specimen_date),
                "symptom_onset": _day(case.symptom_onset),
                "infectious_from": _day(case.infectious_from),
                "infectious_until": _day(case.infectious_until),
                "isolation_ends_on": _day(case_isolation_ends_on(case)),
                "status": case.get_status_display(),
                "outcome": case.outcome,
                "policy": case.policy.name,
                "opened": _moment(case.created_at),
                "closed": _moment(case.closed_at),
                "status_history": [
                    {
                        "at": _moment(t.at),
                        "from": t.get_from_status_display(),
                        "to": t.get_to_status_display(),
                    }
                    for t in case.transitions.all()
                ],
                # The contacts they named are other people: how many, never who.
                "contacts_named": case.exposures.count(),
                "places_visited": places,
            }
        )
    return out


def _test_results(person: Person) -> list[dict[str, Any]]:
    return [
        {
            "specimen_date": _day(result.specimen_date),
            "outcome": result.get_outcome_display(),
            "laboratory": result.lab_code,
            "received": _moment(result.received_at),
        }
        for result in TestResult.objects.filter(person=person).order_by("specimen_date", "pk")
    ]


def _exposures(person: Person) -> list[dict[str, Any]]:
    """Their own contact records: never the case that named them, nor where the case was."""
    exposures = Exposure.objects.filter(contact=person).select_related("setting")
    return [
        {
            "date_of_last_contact": _day(exposure.last_contact_on),
            "kind_of_contact": exposure.get_proximity_display(),
            "kind_of_place": exposure.setting.get_kind_display() if exposure.setting else "",
            "isolation_ends_on": _day(exposure.isolation_ends_on),
            "notification": exposure.get_notification_state_display(),
            "recorded": _moment(exposure.created_at),
        }
        for exposure in exposures.order_by("last_contact_on", "pk")
    ]


def _follow_ups(person: Person) -> list[dict[str, Any]]:
    return [
        {
            "due_on": _day(item.due_on),
            "while": "isolating as a contact" if item.exposure_id else "isolating as a case",
            "status": item.get_status_display(),
            "outcome": item.get_outcome_display() if item.outcome else "",
            "completed": _moment(item.completed_at),
        }
        for item in FollowUp.objects.filter(person=person).order_by("due_on", "pk")
    ]


def _calls(person: Person) -> list[dict[str, Any]]:
    calls = CallAttempt.objects.filter(work_item__case__person=person) | CallAttempt.objects.filter(
        work_item__exposure__contact=person
    )
    return [
        {"at": _moment(call.at), "outcome": call.get_outcome_display()}
        for call in calls.order_by("at", "pk")
    ]


def _messages(person: Person) -> list[dict[str, Any]]:
    out = []
    key = None
    if person.erased_at is None:
        try:
            key = unwrap_data_key(person.data_key)
        except DataKeyDestroyed:
            key = None
    messages = Message.objects.filter(person=person).select_related("template")
    for message in messages.order_by("created_at", "pk"):
        entry: dict[str, Any] = {
            "reference": str(message.reference),
            "template": message.template.name,
            "channel": message.get_channel_display(),
            "state": message.get_state_display(),
            "created": _moment(message.created_at),
            "sent": _moment(message.sent_at),
            "delivered": _moment(message.delivered_at),
            "failed": _moment(message.failed_at),
            "contents_purged": _moment(message.purged_at),
            "sent_to": "",
            "subject": "",
            "body": "",
        }
        if key is not None and message.personalisation_sealed is not None:
            values = json.loads(
                key.open("message.personalisation", message.personalisation_sealed) or "{}"
            )
            rendered = preview(message.template, values)
            entry["sent_to"] = key.open("message.recipient", message.recipient_sealed) or ""
            entry["subject"] = rendered.subject
            entry["body"] = rendered.body
        out.append(entry)
    return out


def _safeguarding(person: Person) -> list[dict[str, Any]]:
    # A "risk from household" flag is shown: the export goes to the person themselves.
    return [
        {
            "flag": flag.get_kind_display(),
            "set": _moment(flag.set_at),
            "cleared": _moment(flag.cleared_at),
        }
        for flag in SafeguardingFlag.objects.filter(person=person).order_by("set_at", "pk")
    ]


def _disclosure_requests(person: Person) -> list[dict[str, Any]]:
    subjects = DisclosureSubject.objects.filter(person=person).select_related("request")
    return [
        {
            "reference": str(s.request.reference),
            "received": _moment(s.request.received_at),
            "from": f"{s.request.organisation} ({s.request.get_requester_kind_display()})",
            "status": s.request.get_status_display(),
            "disclosed": _moment(s.request.disclosed_at),
        }
        for s in subjects.order_by("request__received_at", "pk")
    ]


def _who(actors: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Staff by role, not name: staff act for Confide, their names are their own personal data
    and add nothing to what the person can check (what was done, why, when)."""
    from confide.api.models import ApiClient

    roles = dict(StaffMember.objects.filter(reference__in=actors).values_list("reference", "role"))
    who = {ref: f"A member of staff: {Role(role).label.lower()}" for ref, role in roles.items()}
    for ref, name in ApiClient.objects.filter(reference__in=actors).values_list(
        "reference", "name"
    ):
        who[ref] = f"A connected system: {name}"
    return who


def _access_history(person: Person, own_references: set[str]) -> list[dict[str, Any]]:
    events = list(
        AccessEvent.objects.filter(subject_reference=person.reference).order_by("sequence")
    )
    who = _who({e.actor_reference for e in events if e.actor_reference})

    def masked(purpose: str) -> str:
        return _UUID.sub(
            lambda m: m.group(0) if m.group(0).lower() in own_references else MASKED_REFERENCE,
            purpose,
        )

    return [
        {
            "at": _moment(event.at),
            "action": event.get_action_display(),
            "by": (
                who.get(event.actor_reference, "A member of staff")
                if event.actor_reference
                else "Confide (automatically)"
            ),
            "purpose": masked(event.purpose),
        }
        for event in events
    ]


@dataclass(frozen=True)
class SubjectAccessExport:
    """Everything held about one person, decrypted, in memory for one response."""

    content: dict[str, Any]

    def as_json(self) -> str:
        return json.dumps(self.content, indent=2, ensure_ascii=False)


def subject_access_export(
    *, request: SubjectAccessRequest, by: StaffMember, file_format: str
) -> SubjectAccessExport:
    """Log the export (one EXPORT access event, for one person) and build it."""
    person = Person.objects.select_related("data_key").get(pk=request.person_id)
    record_access(
        Access(
            action=AccessAction.EXPORT,
            purpose=_purpose(request, f"export ({file_format})"),
            actor_reference=by.reference,
            subject_reference=person.reference,
            object_type="subject_access_request",
            object_reference=str(request.reference),
        )
    )
    disclosures = _disclosure_requests(person)
    messages = _messages(person)
    cases = _cases(person)
    requests = list(SubjectAccessRequest.objects.filter(person=person))
    own = {str(person.reference)}
    own |= {c["reference"] for c in cases} | {m["reference"] for m in messages}
    own |= {d["reference"] for d in disclosures} | {str(r.reference) for r in requests}
    own |= support_references(person)
    content = {
        "about": {
            "request": str(request.reference),
            "identity_verified_by": request.get_verification_display(),
            "recorded": _moment(request.recorded_at),
            "produced": _moment(timezone.now()),
            "produced_by": "The data protection officer",
            "withheld": (
                "Who named you as a contact, and anything else about other people: that is "
                "their personal data (Data Protection Act 2018, Schedule 2, paragraph 16). "
                "Staff are shown by role, not by name."
            ),
        },
        "person": _person_section(person),
        "cases": cases,
        "test_results": _test_results(person),
        "exposures": _exposures(person),
        "follow_ups": _follow_ups(person),
        "calls": _calls(person),
        "messages": messages,
        "safeguarding_flags": _safeguarding(person),
        "requests_from_others": disclosures,
        # Isolation support: applications, every decision with its reason, payments, help.
        "isolation_support": support_export(person),
        "subject_access_requests": [
            {
                "reference": str(r.reference),
                "recorded": _moment(r.recorded_at),
                "identity_verified_by": r.get_verification_display(),
            }
            for r in requests
        ],
        "access_history": _access_history(person, own),
    }
    return SubjectAccessExport(content)
