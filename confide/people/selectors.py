"""Reads about people: exact lookups through blind indexes, and decryption of one person."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet

from confide.people.details import PersonDetails
from confide.people.models import PERSON_SEALED_FIELDS, Person
from confide.people.services import PersonErased
from confide.people.validation import (
    normalise_email,
    normalise_nhs_number,
    normalise_phone,
    normalise_postcode,
)
from confide.privacy.audit import Access, record_access, record_accesses
from confide.privacy.blind_index import IndexKind, blind_index
from confide.privacy.crypto import unwrap_data_key
from confide.privacy.models import AccessAction

if TYPE_CHECKING:
    from confide.staff.models import StaffMember


def person_details(person: Person) -> PersonDetails:
    """Decrypt one person (the only place Person plaintext is produced)."""
    if person.erased_at is not None:
        raise PersonErased(f"Person {person.reference} was erased.")
    key = unwrap_data_key(person.data_key)
    values = {
        name: key.open(f"person.{name}", getattr(person, f"{name}_sealed"))
        for name in PERSON_SEALED_FIELDS
    }
    return PersonDetails.from_strings(values)


def _live() -> QuerySet[Person]:
    """People who are neither erased nor merged into another record."""
    return Person.objects.filter(erased_at__isnull=True, merged_into__isnull=True).select_related(
        "data_key"
    )


def people_by_nhs_number(nhs_number: str) -> QuerySet[Person]:
    """People with this NHS number (usually one; more means a duplicate awaiting a merge)."""
    return _live().filter(
        nhs_number_index=blind_index(IndexKind.NHS_NUMBER, normalise_nhs_number(nhs_number))
    )


def people_by_email(email: str) -> QuerySet[Person]:
    return _live().filter(email_index=blind_index(IndexKind.EMAIL, normalise_email(email)))


def people_by_phone(phone: str) -> QuerySet[Person]:
    return _live().filter(phone_index=blind_index(IndexKind.PHONE, normalise_phone(phone)))


def lookup_or_none(lookup: str, value: str) -> Person | None:
    """The one person found by an exact lookup, or None (also for an invalid value)."""
    finders = {
        "nhs_number": people_by_nhs_number,
        "email": people_by_email,
        "phone": people_by_phone,
    }
    try:
        return finders[lookup](value).order_by("pk").first()
    except ValidationError:
        return None


def read_person(person: Person, *, by: StaffMember | None, purpose: str) -> PersonDetails:
    """Decrypt one person, writing the AccessEvent that says so: for a member of staff, or for
    Confide itself (`by=None`, e.g. matching a new contact or writing their notification)."""
    details = person_details(person)
    record_access(person_read(person, by=by, purpose=purpose))
    return details


def person_read(person: Person, *, by: StaffMember | None, purpose: str) -> Access:
    """The access-log entry for decrypting `person`, for a caller that decrypts first and logs
    later in the same transaction (see `read_person`)."""
    return Access(
        action=AccessAction.VIEW,
        purpose=purpose,
        actor_reference=by.reference if by else None,
        subject_reference=person.reference,
        object_type="person",
        object_reference=str(person.reference),
    )


def active_safeguarding(person: Person) -> set[str]:
    """The kinds of safeguarding flag currently set on a person."""
    from confide.people.models import SafeguardingFlag

    return set(
        SafeguardingFlag.objects.filter(person=person, cleared_at__isnull=True).values_list(
            "kind", flat=True
        )
    )


def safeguarding_of(person_ids: Sequence[int]) -> dict[int, set[str]]:
    """The kinds of safeguarding flag currently set on each of many people, in one query."""
    from confide.people.models import SafeguardingFlag

    flags: dict[int, set[str]] = {}
    if not person_ids:
        return flags
    # Hand-written: an import asks about 5,000 people at once, and the ORM spent longer
    # building that query than running it.
    table = connection.ops.quote_name(SafeguardingFlag._meta.db_table)
    ids = list(person_ids)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            cursor.execute(
                f"SELECT person_id, kind FROM {table} WHERE cleared_at IS NULL "  # noqa: S608
                f"AND person_id IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
            for person_id, kind in cursor.fetchall():
                flags.setdefault(person_id, set()).add(kind)
    return flags


# Ids per query: within SQLite's limit on bound parameters.
_IDS_PER_QUERY = 5_000


def find_known_person(
    *,
    given_name: str,
    nhs_number: str = "",
    phone: str = "",
    email: str = "",
    family_name: str = "",
    date_of_birth: date | None = None,
    postcode: str = "",
    address: str = "",
) -> Person | None:
    """The person we already hold for a newly named contact, found without decrypting anyone
    (confide.matching: blind indexes first, then keyed encodings).

    An NHS number identifies one person, so it links on its own. A phone number or an email
    address is often shared (a family's landline or inbox), so it links only when the given
    name matches too; otherwise a second person in a household would be linked to the first
    and told to isolate under someone else's name. Nothing found here is shown to staff.
    """
    from confide.matching.services import match_people

    def clean(value: str, normalise: Callable[[str], str]) -> str:
        try:
            return normalise(value) if value.strip() else ""
        except ValidationError:
            return ""

    details = PersonDetails(
        given_name=" ".join(given_name.split()),
        family_name=" ".join(family_name.split()),
        date_of_birth=date_of_birth,
        nhs_number=clean(nhs_number, normalise_nhs_number),
        phone=clean(phone, normalise_phone),
        email=clean(email, normalise_email),
        postcode=clean(postcode, normalise_postcode),
        address=" ".join(address.split()),
    )
    return match_people([details])[0].person


def search_population(
    *,
    by: StaffMember,
    purpose: str,
    nhs_number: str = "",
    phone: str = "",
    email: str = "",
) -> list[Person]:
    """People with any of these exact identifiers, logging the search and why it was made.

    One SEARCH AccessEvent per person found (so each person's access history shows it), or
    one without a subject when nothing matched. Raises ValidationError by field, logging
    nothing, when the purpose is missing or an identifier is not valid.
    """
    errors: dict[str, list[str]] = {}
    if not purpose.strip():
        errors["purpose"] = ["Say why you need to search"]
    if not (nhs_number.strip() or phone.strip() or email.strip()):
        errors["nhs_number"] = ["Enter an NHS number, a phone number or an email address"]
    finders = (
        ("nhs_number", nhs_number, people_by_nhs_number),
        ("phone", phone, people_by_phone),
        ("email", email, people_by_email),
    )
    matches: dict[int, Person] = {}
    for field, value, finder in finders:
        if not value.strip():
            continue
        try:
            for person in finder(value).order_by("pk"):
                matches.setdefault(person.pk, person)
        except ValidationError as exc:
            errors[field] = exc.messages
    if errors:
        raise ValidationError(errors)
    people = list(matches.values())
    actor = by.reference
    record_accesses(
        [
            Access(
                action=AccessAction.SEARCH,
                purpose=purpose.strip(),
                actor_reference=actor,
                subject_reference=person.reference,
                object_type="person",
                object_reference=str(person.reference),
            )
            for person in people
        ]
        or [Access(action=AccessAction.SEARCH, purpose=purpose.strip(), actor_reference=actor)]
    )
    return people
