"""The decrypted view of a Person, and its validation as a whole."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError

from confide.people import validation


@dataclass(frozen=True)
class PersonDetails:
    """A person's personal details in clear: exists only in memory, never stored like this."""

    given_name: str
    family_name: str = ""
    date_of_birth: date | None = None
    nhs_number: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    postcode: str = ""

    def as_strings(self) -> dict[str, str | None]:
        """Values as stored (sealed): dates in ISO format, blanks as None."""
        out: dict[str, str | None] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, date):
                value = value.isoformat()
            out[f.name] = value or None
        return out

    @classmethod
    def from_strings(cls, values: dict[str, str | None]) -> PersonDetails:
        dob = values.get("date_of_birth")
        return cls(
            given_name=values.get("given_name") or "",
            family_name=values.get("family_name") or "",
            date_of_birth=date.fromisoformat(dob) if dob else None,
            nhs_number=values.get("nhs_number") or "",
            phone=values.get("phone") or "",
            email=values.get("email") or "",
            address=values.get("address") or "",
            postcode=values.get("postcode") or "",
        )


def _optional(value: str, normalise: Callable[[str], str]) -> str:
    return normalise(value) if value and value.strip() else ""


def validate_person_details(details: PersonDetails, *, today: date) -> PersonDetails:
    """Normalised details, or a ValidationError naming every field that is wrong."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}

    def attempt(field: str, check: Callable[[], Any]) -> None:
        try:
            cleaned[field] = check()
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)

    attempt("given_name", lambda: validation.normalise_name(details.given_name, label="first name"))
    attempt(
        "family_name",
        lambda: " ".join(details.family_name.split()) if details.family_name else "",
    )
    if details.date_of_birth is not None:
        dob = details.date_of_birth
        attempt("date_of_birth", lambda: validation.check_date_of_birth(dob, today=today))
    attempt("nhs_number", lambda: _optional(details.nhs_number, validation.normalise_nhs_number))
    attempt("phone", lambda: _optional(details.phone, validation.normalise_phone))
    attempt("email", lambda: _optional(details.email, validation.normalise_email))
    attempt("postcode", lambda: _optional(details.postcode, validation.normalise_postcode))
    attempt("address", lambda: " ".join(details.address.split()) if details.address else "")
    if errors:
        raise ValidationError(errors)
    return replace(details, **cleaned)
