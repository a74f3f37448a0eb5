"""One submitted result, whatever its format, and its validation into a clean result or errors.

Both parsers (CSV and FHIR) turn their input into `SubmittedResult`s of plain strings, each
carrying the name its format gives every field, so an error points at the column or the FHIR
element the sender wrote. Validation reuses the people and cases rules unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError

from confide.cases.models import ResultOutcome
from confide.cases.services import validate_case_dates
from confide.people.details import PersonDetails, validate_person_details


@dataclass(frozen=True)
class RowError:
    """Why one row was rejected. `reason` is in our words and never contains the value."""

    row: int
    field: str
    reason: str


# SARS-CoV-2 tests we accept (LOINC): RNA by NAA (PCR) in respiratory specimens, and antigen
# by rapid immunoassay (lateral flow).
SARS_COV_2_LOINC = frozenset({"94500-6", "94309-2", "94558-4", "94533-7", "94534-5", "94759-8"})
OUTCOMES = frozenset(ResultOutcome.values)

RESULT_FIELDS = ("lab_code", "lab_result_id", "outcome", "specimen_date", "test_code")
PERSON_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "nhs_number",
    "phone",
    "email",
    "address",
    "postcode",
)


@dataclass(frozen=True)
class SubmittedResult:
    """A result as sent: strings, and the sender's name for each of our fields."""

    row: int
    values: Mapping[str, str]
    # Our field name -> the sender's (a CSV column, or a FHIR path); defaults to ours.
    labels: Mapping[str, str] = field(default_factory=dict)
    # (field, reason) found while reading, before validation (a row of the wrong width, a FHIR
    # resource that is not valid FHIR): the row is rejected with these.
    problems: tuple[tuple[str, str], ...] = ()

    def label(self, name: str) -> str:
        return self.labels.get(name, name)


@dataclass(frozen=True)
class ValidResult:
    row: int
    lab_code: str
    lab_result_id: str
    outcome: str
    specimen_date: date
    symptom_onset: date | None
    test_code: str
    person: PersonDetails  # normalised


def _iso_date(value: str, *, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(f"Enter the {what} as a date like 2021-01-31") from None


def _required(value: str, *, what: str, max_length: int) -> str:
    text = value.strip()
    if not text:
        raise ValidationError(f"Enter the {what}")
    if len(text) > max_length:
        raise ValidationError(f"The {what} must be {max_length} characters or fewer")
    return text


def _outcome(value: str) -> str:
    outcome = value.strip().lower()
    if outcome not in OUTCOMES:
        raise ValidationError("Enter the outcome as positive, negative or void")
    return outcome


def _test_code(value: str) -> str:
    code = value.strip()
    if code and code not in SARS_COV_2_LOINC:
        raise ValidationError(
            "Enter a SARS-CoV-2 LOINC code we accept (see docs/ingest.md), like 94500-6"
        )
    return code


def validate_result(submitted: SubmittedResult, *, today: date) -> ValidResult | list[RowError]:
    """The clean result, or one RowError per wrong field (all of them, not just the first)."""
    if submitted.problems:
        return [RowError(submitted.row, name, reason) for name, reason in submitted.problems]
    values = submitted.values
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, object] = {}

    def attempt(name: str, check: Callable[[], object]) -> None:
        try:
            cleaned[name] = check()
        except ValidationError as exc:
            errors.setdefault(name, []).extend(exc.messages)

    def text(name: str) -> str:
        return values.get(name) or ""

    attempt("lab_code", lambda: _required(text("lab_code"), what="lab code", max_length=64))
    attempt(
        "lab_result_id",
        lambda: _required(text("lab_result_id"), what="lab's result id", max_length=128),
    )
    attempt("outcome", lambda: _outcome(text("outcome")))
    attempt("test_code", lambda: _test_code(text("test_code")))
    attempt("specimen_date", lambda: _iso_date(text("specimen_date"), what="specimen date"))
    onset = text("symptom_onset").strip()
    attempt(
        "symptom_onset",
        lambda: _iso_date(onset, what="date symptoms started") if onset else None,
    )
    dob_text = text("date_of_birth").strip()
    attempt(
        "date_of_birth",
        lambda: _iso_date(dob_text, what="date of birth") if dob_text else None,
    )
    dob = cleaned.get("date_of_birth")
    try:
        person = validate_person_details(
            PersonDetails(
                given_name=text("given_name"),
                family_name=text("family_name"),
                date_of_birth=dob if isinstance(dob, date) else None,
                nhs_number=text("nhs_number"),
                phone=text("phone"),
                email=text("email"),
                address=text("address"),
                postcode=text("postcode"),
            ),
            today=today,
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
        person = None
    specimen = cleaned.get("specimen_date")
    if isinstance(specimen, date) and "symptom_onset" not in errors:
        onset_date = cleaned.get("symptom_onset")
        try:
            validate_case_dates(
                specimen_date=specimen,
                symptom_onset=onset_date if isinstance(onset_date, date) else None,
                date_of_birth=dob if isinstance(dob, date) else None,
                today=today,
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    if errors or person is None:
        return [
            RowError(row=submitted.row, field=submitted.label(name), reason=reason)
            for name in (*RESULT_FIELDS, "symptom_onset", *PERSON_FIELDS)
            for reason in errors.get(name, ())
        ]
    onset_value = cleaned.get("symptom_onset")
    assert isinstance(specimen, date)
    return ValidResult(
        row=submitted.row,
        lab_code=str(cleaned["lab_code"]),
        lab_result_id=str(cleaned["lab_result_id"]),
        outcome=str(cleaned["outcome"]),
        specimen_date=specimen,
        symptom_onset=onset_value if isinstance(onset_value, date) else None,
        test_code=str(cleaned["test_code"]),
        person=person,
    )
