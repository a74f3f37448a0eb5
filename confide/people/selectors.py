"""Reads about people: exact lookups through blind indexes, and decryption of one person."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from confide.people.details import PersonDetails
from confide.people.models import PERSON_SEALED_FIELDS, Person
from confide.people.services import PersonErased
from confide.people.validation import normalise_email, normalise_nhs_number, normalise_phone
from confide.privacy.blind_index import IndexKind, blind_index
from confide.privacy.crypto import unwrap_data_key


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
    return Person.objects.filter(erased_at__isnull=True).select_related("data_key")


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
