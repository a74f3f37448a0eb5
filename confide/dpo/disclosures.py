"""Third-party disclosure requests: recorded, refused by default, released only with a recorded
lawful basis, the DPO's approval and a second approver's, limited to named fields, logged.

The rules are enforced here, not in the views: whatever calls these functions, one person's
approvals never release anything, and a safeguarded person's location never leaves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from confide.dpo.models import (
    DisclosureApproval,
    DisclosureRequest,
    DisclosureStatus,
    DisclosureSubject,
    LawfulBasis,
    RequesterKind,
)
from confide.people.models import PERSON_SEALED_FIELDS, Person
from confide.people.selectors import active_safeguarding, person_details, search_population
from confide.people.services import PersonErased
from confide.privacy.audit import Access, record_accesses
from confide.privacy.crypto import SubjectKey, new_data_key, unwrap_data_key
from confide.privacy.models import AccessAction
from confide.staff.models import Role, StaffMember

SETTINGS_VISITED = "settings_visited"
# What a disclosure can name: a person's own sealed fields and the places they visited.
DISCLOSABLE_FIELDS = (*PERSON_SEALED_FIELDS, SETTINGS_VISITED)
# Location data: never disclosed for a person with any safeguarding flag (someone at risk from
# a household member, or whose address must be kept back, must not be found through us).
LOCATION_FIELDS = frozenset({"address", "postcode", SETTINGS_VISITED})
FIELD_LABELS = {
    "given_name": "Given name",
    "family_name": "Family name",
    "date_of_birth": "Date of birth",
    "nhs_number": "NHS number",
    "phone": "Phone number",
    "email": "Email address",
    "address": "Address",
    "postcode": "Postcode",
    SETTINGS_VISITED: "Places visited",
}

# The reply sent to every requester unless and until a disclosure is approved. It neither
# confirms nor denies that we hold anything about the person. docs/dpo.md quotes it; a test
# keeps the two the same.
STANDARD_REFUSAL = (
    "Thank you for your request. Confide holds personal data only to trace contacts of people "
    "with coronavirus and to support them while they isolate. People give us their details on "
    "the understanding that they will be used for nothing else, and public health depends on "
    "that trust. We therefore do not disclose personal data to the police, immigration "
    "enforcement, tax authorities, employers or anyone else, and we neither confirm nor deny "
    "whether we hold information about any person. Your request has been recorded and refused. "
    "If you believe the law requires us to disclose — for example, a court order — send the "
    "order to our data protection officer, who will consider it."
)


class DisclosureNotAllowed(Exception):
    """An approval or release that the rules do not allow; the message says why."""


def _sealed(key: SubjectKey, name: str, value: str) -> bytes | None:
    return key.seal(f"disclosure.{name}", value.strip())


def requester_details(request: DisclosureRequest) -> dict[str, str]:
    """What the requester wrote (their own personal data), for the DPO's pages."""
    key = unwrap_data_key(request.data_key)
    return {
        name: key.open(f"disclosure.{name}", getattr(request, f"{name}_sealed")) or ""
        for name in ("requester_name", "requester_contact", "stated_purpose", "lawful_basis_detail")
    }


def record_disclosure_request(
    *,
    by: StaffMember,
    received_at: datetime,
    requester_kind: str,
    organisation: str,
    requester_name: str,
    requester_contact: str,
    stated_purpose: str,
    requested_fields: list[str],
    nhs_number: str = "",
    phone: str = "",
    email: str = "",
) -> DisclosureRequest:
    """Record a request and refuse it (the default). The people concerned are found through the
    logged population search, whose access events name this request as the purpose; the
    identifiers the requester gave are used for the search and not stored."""
    errors: dict[str, list[str]] = {}
    if requester_kind not in RequesterKind.values:
        errors["requester_kind"] = ["Choose who is asking"]
    if not organisation.strip():
        errors["organisation"] = ["Enter the organisation asking"]
    if not stated_purpose.strip():
        errors["stated_purpose"] = ["Enter the purpose they gave"]
    if not requested_fields:
        errors["requested_fields"] = ["Choose what they asked for"]
    elif set(requested_fields) - set(DISCLOSABLE_FIELDS):
        errors["requested_fields"] = ["Choose what they asked for from the list"]
    if received_at > timezone.now():
        errors["received_at"] = ["The request cannot have arrived in the future"]
    if errors:
        raise ValidationError(errors)
    data_key, key = new_data_key()
    with transaction.atomic():
        data_key.save(force_insert=True)
        request = DisclosureRequest.objects.create(
            received_at=received_at,
            recorded_by=by,
            requester_kind=requester_kind,
            organisation=" ".join(organisation.split()),
            data_key=data_key,
            requester_name_sealed=_sealed(key, "requester_name", requester_name),
            requester_contact_sealed=_sealed(key, "requester_contact", requester_contact),
            stated_purpose_sealed=_sealed(key, "stated_purpose", stated_purpose),
            requested_fields=[f for f in DISCLOSABLE_FIELDS if f in requested_fields],
        )
        people = search_population(
            by=by,
            purpose=(
                f"Disclosure request {request.reference} from "
                f"{RequesterKind(requester_kind).label.lower()}: recorded and refused"
            ),
            nhs_number=nhs_number,
            phone=phone,
            email=email,
        )
        DisclosureSubject.objects.bulk_create(
            [DisclosureSubject(request=request, person=person) for person in people]
        )
    return request


def _locked(request: DisclosureRequest) -> DisclosureRequest:
    return DisclosureRequest.objects.select_for_update().get(pk=request.pk)


def approve_disclosure(
    *,
    request: DisclosureRequest,
    by: StaffMember,
    lawful_basis: str,
    justification: str,
    fields: list[str],
) -> DisclosureRequest:
    """The DPO's approval: the lawful basis, why it applies, and which of the requested fields.
    The request then waits for a second approver."""
    errors: dict[str, list[str]] = {}
    if lawful_basis not in LawfulBasis.values:
        errors["lawful_basis"] = ["Choose the lawful basis for disclosing"]
    if not justification.strip():
        errors["justification"] = ["Explain why the lawful basis applies"]
    if not fields:
        errors["fields"] = ["Choose which fields to disclose"]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = _locked(request)
        if by.role != Role.DATA_PROTECTION_OFFICER:
            raise DisclosureNotAllowed("Only the data protection officer can approve a disclosure.")
        if current.status != DisclosureStatus.REFUSED:
            raise DisclosureNotAllowed("This request has already been approved or disclosed.")
        if set(fields) - set(current.requested_fields):
            raise ValidationError(
                {"fields": ["Only fields the requester asked for can be disclosed"]}
            )
        key = unwrap_data_key(current.data_key)
        current.lawful_basis = lawful_basis
        current.lawful_basis_detail_sealed = _sealed(key, "lawful_basis_detail", justification)
        current.approved_fields = [f for f in DISCLOSABLE_FIELDS if f in fields]
        current.status = DisclosureStatus.AWAITING_SECOND_APPROVAL
        current.save(
            update_fields=[
                "lawful_basis",
                "lawful_basis_detail_sealed",
                "approved_fields",
                "status",
            ]
        )
        DisclosureApproval.objects.create(request=current, approver=by, approver_role=by.role)
    return current


SECOND_APPROVER_ROLES = frozenset({Role.DATA_PROTECTION_OFFICER, Role.ADMINISTRATOR})


def second_approve_disclosure(*, request: DisclosureRequest, by: StaffMember) -> DisclosureRequest:
    """A second, different person (a DPO or an administrator) agrees."""
    with transaction.atomic():
        current = _locked(request)
        if by.role not in SECOND_APPROVER_ROLES:
            raise DisclosureNotAllowed(
                "Only a data protection officer or an administrator can be the second approver."
            )
        if current.status != DisclosureStatus.AWAITING_SECOND_APPROVAL:
            raise DisclosureNotAllowed("This request is not waiting for a second approval.")
        if current.approvals.filter(approver=by).exists():
            raise DisclosureNotAllowed("The second approver must be a different person.")
        DisclosureApproval.objects.create(request=current, approver=by, approver_role=by.role)
        current.status = DisclosureStatus.APPROVED
        current.save(update_fields=["status"])
    return current


@dataclass(frozen=True)
class DisclosedPerson:
    person_reference: uuid.UUID
    values: dict[str, object]
    withheld: dict[str, str] = field(default_factory=dict)  # field -> why


@dataclass(frozen=True)
class Disclosure:
    """The released content: made once, in memory, for the DPO to send; never stored."""

    request_reference: str
    organisation: str
    lawful_basis: str
    produced_at: datetime
    people: list[DisclosedPerson]

    def as_json(self) -> dict[str, object]:
        return {
            "request": self.request_reference,
            "organisation": self.organisation,
            "lawful_basis": self.lawful_basis,
            "produced_at": self.produced_at.isoformat(),
            "people": [
                {"person": str(p.person_reference), "values": p.values, "withheld": p.withheld}
                for p in self.people
            ],
        }


def _settings_visited(person: Person) -> list[dict[str, str]]:
    from confide.tracing.models import SettingVisit

    visits = SettingVisit.objects.filter(case__person=person).select_related("setting__data_key")
    out = []
    for visit in visits.order_by("visited_on", "pk"):
        setting = visit.setting
        key = unwrap_data_key(setting.data_key)
        out.append(
            {
                "visited_on": visit.visited_on.isoformat(),
                "kind": setting.get_kind_display(),
                "name": setting.name,
                "address": key.open("setting.address", setting.address_sealed) or "",
                "postcode": key.open("setting.postcode", setting.postcode_sealed) or "",
            }
        )
    return out


def _disclose_person(person: Person, fields: list[str]) -> DisclosedPerson:
    withheld: dict[str, str] = {}
    allowed = list(fields)
    if active_safeguarding(person):
        for name in fields:
            if name in LOCATION_FIELDS:
                withheld[name] = "safeguarding: location data is never disclosed"
        allowed = [name for name in fields if name not in LOCATION_FIELDS]
    try:
        details = person_details(person).as_strings()
    except PersonErased:
        return DisclosedPerson(person.reference, {}, {name: "erased" for name in fields})
    values: dict[str, object] = {
        name: details[name] for name in allowed if name in PERSON_SEALED_FIELDS
    }
    if SETTINGS_VISITED in allowed:
        values[SETTINGS_VISITED] = _settings_visited(person)
    return DisclosedPerson(person.reference, values, withheld)


def _approved_by_two(current: DisclosureRequest) -> bool:
    approvals = list(current.approvals.all())
    approvers = {a.approver_id for a in approvals}
    return len(approvers) >= 2 and any(
        a.approver_role == Role.DATA_PROTECTION_OFFICER for a in approvals
    )


def produce_disclosure(*, request: DisclosureRequest, by: StaffMember) -> Disclosure:
    """Release the approved fields, once, to a DPO, logging a DISCLOSE access per person.

    Safeguarding is checked now, not at approval: a flag set in between still withholds."""
    with transaction.atomic():
        current = _locked(request)
        if by.role != Role.DATA_PROTECTION_OFFICER:
            raise DisclosureNotAllowed("Only the data protection officer can release a disclosure.")
        if current.status == DisclosureStatus.DISCLOSED:
            raise DisclosureNotAllowed("This disclosure was already produced; it is shown once.")
        if current.status != DisclosureStatus.APPROVED or not _approved_by_two(current):
            raise DisclosureNotAllowed(
                "A disclosure needs the DPO's approval and a second, different approver."
            )
        if not current.lawful_basis or not current.approved_fields:
            raise DisclosureNotAllowed("A disclosure needs a recorded lawful basis and fields.")
        subjects = [
            s.person for s in current.subjects.select_related("person__data_key").order_by("pk")
        ]
        people = [_disclose_person(person, current.approved_fields) for person in subjects]
        now = timezone.now()
        record_accesses(
            [
                Access(
                    action=AccessAction.DISCLOSE,
                    purpose=(
                        f"Disclosure request {current.reference} to {current.organisation}: "
                        + (", ".join(sorted(p.values)) or "nothing released")
                    ),
                    actor_reference=by.reference,
                    subject_reference=p.person_reference,
                    object_type="disclosure_request",
                    object_reference=str(current.reference),
                )
                for p in people
            ]
        )
        current.status = DisclosureStatus.DISCLOSED
        current.disclosed_at = now
        current.disclosed_by = by
        current.save(update_fields=["status", "disclosed_at", "disclosed_by"])
    return Disclosure(
        request_reference=str(current.reference),
        organisation=current.organisation,
        lawful_basis=LawfulBasis(current.lawful_basis).label,
        produced_at=now,
        people=people,
    )
