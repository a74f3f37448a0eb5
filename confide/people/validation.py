"""Normalising and validating personal details, with messages that name the field.

Every function raises django's ValidationError with a plain-English message; callers collect
them per field (see `validate_person_details`) so a form or an import row can show them all.
"""

from __future__ import annotations

import re
from datetime import date

import nhs_number
import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

EARLIEST_DATE_OF_BIRTH = date(1890, 1, 1)

# The UK postcode format (outward code, space, inward code), including BFPO-free GIR 0AA;
# no library covering just the format is better kept than this one expression.
_POSTCODE = re.compile(
    r"^(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]([0-9]|[ABEHMNPRVWXY])?|[0-9][A-HJKPSTUW])"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)
_email_validator = EmailValidator(
    message="Enter an email address in the correct format, like name@example.com"
)


def normalise_nhs_number(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value or "")
    if not digits.isdigit() or len(digits) != 10:
        raise ValidationError("Enter an NHS number with 10 digits, like 485 777 3456")
    if not nhs_number.is_valid(digits):
        raise ValidationError("Enter a valid NHS number: the check digit does not match")
    return digits


# Ofcom's ranges reserved for TV and radio drama: never assigned to a real subscriber, so the
# demo and tests use them and can never text a real person. Accepted outside production only.
OFCOM_DRAMA_PREFIXES = ("+447700900", "+441632960", "+442079460", "+441134960", "+441614960")


# E.164 numbers this process has already found valid, with the drama-range setting they were
# checked under. A bulk import validates each row, and `build_person` validates the clean
# details again; parsing is the slowest check there is, and a valid E.164 number normalises to
# itself (whatever the region), so the second check is a lookup. Bounded: cleared when full.
_VALID_E164: dict[tuple[str, bool], None] = {}
_VALID_E164_LIMIT = 20_000


def _remember_valid(e164: str, allow_drama: bool) -> str:
    if len(_VALID_E164) >= _VALID_E164_LIMIT:
        _VALID_E164.clear()
    _VALID_E164[(e164, allow_drama)] = None
    return e164


# A UK number written plainly (national or +44, digits with spaces or hyphens): read without
# phonenumbers.parse, which costs about 0.2 ms (a tenth of an import's budget per row). The
# library still judges validity (`is_valid_number`); anything else is parsed in full.
_PLAIN_UK = re.compile(r"(?:\+44|0)([1-9][0-9]{8,9})")
_SEPARATORS = re.compile(r"[\s-]+")


def _parse_phone(value: str, region: str) -> phonenumbers.PhoneNumber:
    plain = _PLAIN_UK.fullmatch(_SEPARATORS.sub("", value))
    if plain is not None and (region == "GB" or value.lstrip().startswith("+")):
        return phonenumbers.PhoneNumber(country_code=44, national_number=int(plain.group(1)))
    try:
        return phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            "Enter a phone number, like 07700 900 982 or +44 7700 900 982"
        ) from exc


def normalise_phone(value: str, *, region: str = "GB") -> str:
    """E.164, e.g. +447700900123."""
    allow_drama = bool(settings.CONFIDE_ALLOW_DRAMA_NUMBERS)
    if (value, allow_drama) in _VALID_E164:
        return value
    parsed = _parse_phone(value, region)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if allow_drama and e164.startswith(OFCOM_DRAMA_PREFIXES) and len(e164) == 13:
        return _remember_valid(e164, allow_drama)
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError("Enter a valid phone number, like 07700 900 982 or +44 7700 900 982")
    return _remember_valid(e164, allow_drama)


def normalise_email(value: str) -> str:
    email = (value or "").strip()
    _email_validator(email)
    # Mailboxes are case-insensitive in practice at every provider we send to; lower-casing the
    # whole address makes the blind index match what people type.
    return email.lower()


def normalise_postcode(value: str) -> str:
    compact = re.sub(r"\s+", "", (value or "").upper())
    if not _POSTCODE.match(compact):
        raise ValidationError("Enter a real UK postcode, like SW1A 1AA")
    return f"{compact[:-3]} {compact[-3:]}"


def normalise_name(value: str, *, label: str) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise ValidationError(f"Enter the {label}")
    if len(name) > 100:
        raise ValidationError(f"The {label} must be 100 characters or fewer")
    return name


def surname_key(family_name: str) -> str:
    """The form of a surname used in the surname + date of birth index."""
    return re.sub(r"[^a-z]", "", family_name.lower())


def check_date_of_birth(value: date, *, today: date) -> date:
    if value > today:
        raise ValidationError("Date of birth must be today or in the past")
    if value < EARLIEST_DATE_OF_BIRTH:
        raise ValidationError("Date of birth must be on or after 1 January 1890")
    return value


def check_event_date(
    value: date, *, today: date, date_of_birth: date | None = None, what: str
) -> date:
    """A date of a test, symptom or contact: not in the future, not before the person was born."""
    if value > today:
        raise ValidationError(f"The {what} must be today or in the past")
    if date_of_birth is not None and value < date_of_birth:
        raise ValidationError(f"The {what} must be after the date of birth")
    return value
