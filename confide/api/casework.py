"""What an API client reads and writes about cases, contacts and people, always within its
entitlement and always in the access log with the client as the actor.

Entitlement: a client sees and changes only cases in the tiers listed on it
(`ApiClient.entitled_tiers`); a case outside them is "not found", so the answer does not
confirm it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from confide.api.errors import ApiProblem, not_found
from confide.api.models import ApiClient
from confide.cases.models import Case, CaseStatus
from confide.cases.policy import NoPolicyInForce
from confide.cases.services import open_case, transition_case
from confide.cases.transitions import TransitionNotAllowed
from confide.people.details import PersonDetails, validate_person_details
from confide.people.models import Person
from confide.people.selectors import find_known_person, people_by_nhs_number, person_details
from confide.people.services import create_person
from confide.privacy.audit import Access, record_access, record_accesses
from confide.privacy.models import AccessAction
from confide.public.links import offer_self_service
from confide.tracing.models import Exposure
from confide.tracing.services import record_named_contact
from confide.web.keyset import KeysetPage, keyset_page
from confide.workqueue.models import WorkItem, WorkKind, WorkState
from confide.workqueue.services import enqueue_case_interview, escalate_case


def _access(
    client: ApiClient, action: str, purpose: str, person: Person, object_type: str, ref: object
) -> Access:
    return Access(
        action=action,
        purpose=f"API client {client.name}: {purpose}",
        actor_reference=client.reference,
        subject_reference=person.reference,
        object_type=object_type,
        object_reference=str(ref),
    )


def entitled_cases(client: ApiClient) -> QuerySet[Case]:
    return Case.objects.filter(tier__in=client.entitled_tiers).select_related("person")


def entitled_case(client: ApiClient, reference: UUID) -> Case:
    case = entitled_cases(client).filter(reference=reference).first()
    if case is None:
        raise not_found("case")
    return case


def _require_tier(client: ApiClient, tier: int) -> None:
    if tier not in client.entitled_tiers:
        raise ApiProblem(
            403, "This client is not entitled to cases in that tier.", kind="not-entitled"
        )


def read_case(*, client: ApiClient, case: Case, with_person: bool) -> PersonDetails | None:
    """Log the read of one case (and of its person's details when they are returned)."""
    details = person_details(case.person) if with_person and case.person.erased_at is None else None
    record_access(
        _access(
            client,
            AccessAction.VIEW,
            "read a case" + (" with the person's details" if details else ""),
            case.person,
            "case",
            case.reference,
        )
    )
    return details


def list_cases(
    *, client: ApiClient, status: str | None, limit: int, after: str | None = None
) -> KeysetPage[Case]:
    """One page of the client's cases, oldest first (by id, which follows arrival), starting
    after the cursor of the previous page; each read logged. Keyset, so a deep page costs
    what the first does; no total count (it would cost a scan of every case)."""
    page = keyset_page(
        entitled_cases(client),
        order=("pk",),
        size=limit,
        after=after,
        within={"status": status} if status else None,
    )
    record_accesses(
        [
            _access(client, AccessAction.VIEW, "listed cases", case.person, "case", case.reference)
            for case in page.items
        ]
    )
    return page


def open_case_for(
    *,
    client: ApiClient,
    specimen_date: date,
    symptom_onset: date | None,
    tier: int,
    person_reference: UUID | None = None,
    details: PersonDetails | None = None,
) -> Case:
    """Open a case for a known person or for one described (matched on the blind indexes
    first, as for a named contact), and put it in its tier's queue."""
    _require_tier(client, tier)
    today = timezone.localdate()
    clean = validate_person_details(details, today=today) if details is not None else None
    with transaction.atomic():
        if person_reference is not None:
            person = Person.objects.filter(reference=person_reference, erased_at__isnull=True)
            found = person.select_related("data_key").first()
            if found is None:
                raise not_found("person")
            subject = found
        else:
            assert clean is not None
            known = find_known_person(
                given_name=clean.given_name,
                nhs_number=clean.nhs_number,
                phone=clean.phone,
                email=clean.email,
            )
            subject = known or create_person(details=clean, today=today)
        try:
            case = open_case(
                person=subject,
                specimen_date=specimen_date,
                symptom_onset=symptom_onset,
                tier=tier,
                today=today,
            )
        except NoPolicyInForce as exc:
            raise ValidationError(
                {"specimen_date": ["No public-health policy covers this date"]}
            ) from exc
        enqueue_case_interview(case=case)
        offer_self_service(cases=[case])  # the case's own link to give contacts online
        record_access(
            _access(client, AccessAction.CREATE, "opened a case", subject, "case", case.reference)
        )
    return case


def change_case_status(
    *, client: ApiClient, case: Case, status: str, reason: str, tier: int | None
) -> Case:
    """Close a case (its open interview is cancelled), or escalate it to a tier's queue."""
    with transaction.atomic():
        try:
            if status == CaseStatus.ESCALATED:
                if tier is None:
                    raise ValidationError({"tier": ["Say which tier to escalate the case to"]})
                _require_tier(client, tier)
                escalate_case(case=case, to_tier=tier, reason=reason, by=None)
            else:
                transition_case(case=case, to=status, by=None, reason=reason)
                WorkItem.objects.filter(
                    kind=WorkKind.CASE_INTERVIEW,
                    case=case,
                    state__in=[WorkState.WAITING, WorkState.CLAIMED],
                ).update(state=WorkState.CANCELLED, completed_at=timezone.now())
        except TransitionNotAllowed as exc:
            raise ApiProblem(
                409,
                f"A case cannot move from {exc.from_status} to {exc.to_status}.",
                kind="transition-not-allowed",
            ) from exc
        record_access(
            _access(
                client,
                AccessAction.UPDATE,
                f"changed a case's status to {status}",
                case.person,
                "case",
                case.reference,
            )
        )
    case.refresh_from_db()
    return case


@dataclass(frozen=True)
class AddedContact:
    exposure: Exposure
    contact: Person


def add_contact(
    *, client: ApiClient, case: Case, details: PersonDetails, last_contact: date, proximity: str
) -> AddedContact:
    """A contact named for the case: matched or created, linked, and notified (queued)."""
    if case.person.erased_at is not None:
        raise ApiProblem(409, "The case's person has been erased.", kind="case-closed")
    with transaction.atomic():
        named = record_named_contact(
            case=case, details=details, last_contact=last_contact, proximity=proximity, by=None
        )
        contact = named.exposure.contact
        record_accesses(
            [
                _access(
                    client,
                    AccessAction.CREATE,
                    "added a contact to a case",
                    contact,
                    "exposure",
                    named.exposure.pk,
                )
            ]
        )
    return AddedContact(exposure=named.exposure, contact=contact)


@dataclass(frozen=True)
class PersonWithCases:
    person: Person
    cases: list[Case]


def lookup_by_nhs_number(*, client: ApiClient, nhs_number: str) -> list[PersonWithCases]:
    """The people with this NHS number and their cases in the client's tiers; the search is
    logged whether or not anyone is found."""
    try:
        people = list(people_by_nhs_number(nhs_number).order_by("pk"))
    except ValidationError as exc:
        raise ValidationError({"nhs_number": exc.messages}) from exc
    purpose = f"API client {client.name}: looked up an NHS number"
    record_accesses(
        [
            Access(
                action=AccessAction.SEARCH,
                purpose=purpose,
                actor_reference=client.reference,
                subject_reference=person.reference,
                object_type="person",
                object_reference=str(person.reference),
            )
            for person in people
        ]
        or [Access(action=AccessAction.SEARCH, purpose=purpose, actor_reference=client.reference)]
    )
    cases = entitled_cases(client).filter(person__in=people).order_by("created_at", "pk")
    by_person: dict[int, list[Case]] = {}
    for case in cases:
        by_person.setdefault(case.person_id, []).append(case)
    return [PersonWithCases(person=p, cases=by_person.get(p.pk, [])) for p in people]
