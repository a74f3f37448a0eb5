"""Request and response bodies. Text is checked for characters no record should hold (control
characters, lone surrogates) before it reaches a service, so bad input is a 422, not a 500."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import AfterValidator, model_validator

# Nothing in Confide happened before this; it also keeps date arithmetic (infectious periods,
# isolation ends) far from the calendar's edges.
EARLIEST_DATE = date(1900, 1, 1)


def _plain_text(value: str) -> str:
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("Text must not contain control characters")
    return value


Text = Annotated[str, AfterValidator(_plain_text)]
Day = Annotated[date, Field(ge=EARLIEST_DATE)]


class FieldError(Schema):
    field: str
    message: str


class Problem(Schema):
    """RFC 9457 problem details; `errors` lists each invalid field of a 422."""

    type: str = Field(examples=["urn:confide:problem:validation"])
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class PersonIn(Schema):
    given_name: Text = Field(min_length=1, max_length=100)
    family_name: Text = Field("", max_length=100)
    date_of_birth: Day | None = None
    nhs_number: Text = Field("", max_length=20)
    phone: Text = Field("", max_length=30)
    email: Text = Field("", max_length=254)
    address: Text = Field("", max_length=300)
    postcode: Text = Field("", max_length=10)


class PersonOut(Schema):
    given_name: str
    family_name: str
    date_of_birth: date | None
    nhs_number: str
    phone: str
    email: str
    address: str
    postcode: str


class CaseIn(Schema):
    """A new case for a person we hold (`person_reference`) or one described (`person`, matched
    against the people we hold before a new one is made). Exactly one of the two."""

    person_reference: UUID | None = None
    person: PersonIn | None = None
    specimen_date: Day
    symptom_onset: Day | None = None
    tier: int = Field(2, ge=1, le=3, description="1 local health protection, 2, 3 call handling")

    @model_validator(mode="after")
    def _one_person(self) -> CaseIn:
        if (self.person_reference is None) == (self.person is None):
            raise ValueError("Give exactly one of person_reference and person")
        return self


class CaseOut(Schema):
    reference: UUID
    person_reference: UUID
    status: str
    tier: int
    specimen_date: date
    symptom_onset: date | None
    infectious_from: date
    infectious_until: date
    created_at: datetime
    closed_at: datetime | None
    person: PersonOut | None = Field(None, description="Only with the people:read scope")


class CasePage(Schema):
    items: list[CaseOut]
    limit: int
    next: str | None = Field(description="Pass as `after` for the next page; null on the last")


class CaseStatusIn(Schema):
    """What an integration may do to a case: close it, or escalate it to another tier."""

    status: Literal["closed", "escalated"]
    reason: Text = Field(min_length=1, max_length=300)
    tier: int | None = Field(None, ge=1, le=3, description="The tier to escalate to")


class ContactIn(Schema):
    person: PersonIn
    last_contact: Day
    proximity: Literal["household", "close", "proximity"]


class ContactOut(Schema):
    case_reference: UUID
    contact_reference: UUID
    last_contact: date
    isolation_ends_on: date
    proximity: str


class PeopleLookupIn(Schema):
    nhs_number: Text = Field(min_length=1, max_length=20)


class CaseSummary(Schema):
    reference: UUID
    status: str


class PersonMatch(Schema):
    reference: UUID
    cases: list[CaseSummary]


class PeopleLookupOut(Schema):
    people: list[PersonMatch]


class ResultRowIn(Schema):
    """One result with the CSV's fields (docs/ingest.md), as text: each row is validated like
    a CSV row, so a bad one is reported with its field and the others are imported. The lab
    is the token's; a row cannot name another."""

    lab_result_id: Text = Field(min_length=1, max_length=128)
    outcome: Text = Field(max_length=16, examples=["positive"])
    specimen_date: Text = Field(max_length=10, examples=["2021-01-10"])
    given_name: Text = Field(max_length=100)
    test_code: Text = Field("", max_length=32, examples=["94500-6"])
    symptom_onset: Text = Field("", max_length=10)
    family_name: Text = Field("", max_length=100)
    date_of_birth: Text = Field("", max_length=10)
    nhs_number: Text = Field("", max_length=20)
    phone: Text = Field("", max_length=30)
    email: Text = Field("", max_length=254)
    address: Text = Field("", max_length=300)
    postcode: Text = Field("", max_length=10)


class ResultRowsIn(Schema):
    rows: list[ResultRowIn] = Field(min_length=1, max_length=1000)


class FhirBundleEntry(Schema, extra="allow"):
    fullUrl: str | None = None
    resource: dict[str, object]


class FhirBundleIn(Schema, extra="allow"):
    """A FHIR R4 Bundle (transaction, batch or collection) of Patient and Observation and/or
    DiagnosticReport resources; each resource is validated with fhir.resources."""

    resourceType: Literal["Bundle"]
    type: Literal["transaction", "batch", "collection"]
    entry: list[FhirBundleEntry] = Field(min_length=1, max_length=2000)


class RowErrorOut(Schema):
    row: int = Field(description="Position of the row in the list (from 0), or 1 for a Bundle")
    field: str
    reason: str


class IngestReportOut(Schema):
    run_reference: UUID
    received: int
    imported: int
    duplicates: int
    rejected: int
    positives: int
    negatives: int
    cases_opened: int
    cases_closed: int
    errors: list[RowErrorOut]


class ResultStatusOut(Schema):
    lab_result_id: str
    outcome: str
    specimen_date: date
    received_at: datetime
    case_reference: UUID | None
    case_status: str | None
