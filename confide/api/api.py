"""The HTTP API (django-ninja): thin views that parse, check the token's scope, call a service
and shape the answer. OpenAPI at /api/openapi.json, docs at /api/docs (see docs/api.md)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import NinjaAPI, Query, Schema
from ninja.openapi.schema import OpenAPISchema
from ninja.responses import Status
from pydantic import Field

from confide.api.auth import ScopedToken, token_of
from confide.api.casework import (
    add_contact,
    change_case_status,
    entitled_case,
    list_cases,
    lookup_by_nhs_number,
    open_case_for,
    read_case,
)
from confide.api.errors import PROBLEM_CONTENT_TYPE, ApiProblem, install_problem_handlers
from confide.api.results import FIRST_ROW_LINE, status_of_result, submit_bundle, submit_rows
from confide.api.schemas import (
    CaseIn,
    CaseOut,
    CasePage,
    CaseStatusIn,
    CaseSummary,
    ContactIn,
    ContactOut,
    FhirBundleIn,
    IngestReportOut,
    PeopleLookupIn,
    PeopleLookupOut,
    PersonIn,
    PersonMatch,
    PersonOut,
    Problem,
    ResultRowsIn,
    ResultStatusOut,
    RowErrorOut,
)
from confide.api.scopes import Scope
from confide.cases.models import Case, CaseStatus
from confide.ingest.services import IngestReport
from confide.people.details import PersonDetails
from confide.web.keyset import InvalidCursor

MAX_PAGE_SIZE = 100


class ConfideApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        """Error responses are documented as application/problem+json, which is what they are
        (ninja would label every response with its renderer's application/json)."""
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for code, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(code) >= 400 and "application/json" in content:
                        content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        return schema


api = ConfideApi(
    title="Confide API",
    version="1",
    description="Results in, cases and contacts for entitled integrations. See docs/api.md.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_problem_handlers(api)


def problems(*codes: int) -> dict[frozenset[int], type[Problem]]:
    """Every operation can answer 401 (no valid token), 403 (scope), 429 (rate limit)."""
    return {frozenset({401, 403, 429, *codes}): Problem}


def _details(person: PersonIn) -> PersonDetails:
    return PersonDetails(**person.dict())


def _case_out(case: Case, person: PersonDetails | None = None) -> CaseOut:
    return CaseOut(
        reference=case.reference,
        person_reference=case.person.reference,
        status=case.status,
        tier=case.tier,
        specimen_date=case.specimen_date,
        symptom_onset=case.symptom_onset,
        infectious_from=case.infectious_from,
        infectious_until=case.infectious_until,
        created_at=case.created_at,
        closed_at=case.closed_at,
        person=PersonOut(**person.__dict__) if person is not None else None,
    )


# --- cases -------------------------------------------------------------------------------------


class CaseListQuery(Schema):
    status: CaseStatus | None = None
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    after: str | None = Field(
        None, max_length=400, description="The `next` cursor of the previous page"
    )


@api.get(
    "/cases",
    auth=ScopedToken(Scope.CASES_READ),
    response={200: CasePage, **problems(400, 422)},
    operation_id="listCases",
    summary="List cases",
    tags=["cases"],
)
def list_cases_view(request: HttpRequest, query: Query[CaseListQuery]) -> CasePage:
    """The cases this client is entitled to, oldest first, one bounded page at a time."""
    client = token_of(request).client
    try:
        page = list_cases(client=client, status=query.status, limit=query.limit, after=query.after)
    except InvalidCursor as exc:
        raise ApiProblem(
            422,
            "The cursor is not one this list gave out.",
            errors=[{"field": "after", "message": "Use the next cursor of a page of this list"}],
        ) from exc
    return CasePage(
        items=[_case_out(case) for case in page.items], limit=query.limit, next=page.next_cursor
    )


@api.post(
    "/cases",
    auth=ScopedToken(Scope.CASES_WRITE),
    response={201: CaseOut, **problems(400, 404, 422)},
    operation_id="createCase",
    summary="Open a case",
    tags=["cases"],
)
def create_case_view(request: HttpRequest, payload: CaseIn) -> Status[CaseOut]:
    """Open a case for a person we hold or one described; it joins its tier's queue."""
    client = token_of(request).client
    case = open_case_for(
        client=client,
        specimen_date=payload.specimen_date,
        symptom_onset=payload.symptom_onset,
        tier=payload.tier,
        person_reference=payload.person_reference,
        details=_details(payload.person) if payload.person is not None else None,
    )
    return Status(201, _case_out(case))


@api.get(
    "/cases/{reference}",
    auth=ScopedToken(Scope.CASES_READ),
    response={200: CaseOut, **problems(400, 404, 422)},
    operation_id="readCase",
    summary="Read a case",
    tags=["cases"],
)
def read_case_view(request: HttpRequest, reference: UUID) -> CaseOut:
    """A case's status, dates and tier; the person's details only with people:read."""
    client = token_of(request).client
    case = entitled_case(client, reference)
    details = read_case(client=client, case=case, with_person=Scope.PEOPLE_READ in client.scopes)
    return _case_out(case, details)


@api.patch(
    "/cases/{reference}",
    auth=ScopedToken(Scope.CASES_WRITE),
    response={200: CaseOut, **problems(400, 404, 409, 422)},
    operation_id="changeCaseStatus",
    summary="Close or escalate a case",
    tags=["cases"],
)
def change_case_status_view(
    request: HttpRequest, reference: UUID, payload: CaseStatusIn
) -> CaseOut:
    """Close a case, or escalate it to another tier's queue."""
    client = token_of(request).client
    case = entitled_case(client, reference)
    case = change_case_status(
        client=client, case=case, status=payload.status, reason=payload.reason, tier=payload.tier
    )
    return _case_out(case)


@api.post(
    "/cases/{reference}/contacts",
    auth=ScopedToken(Scope.CONTACTS_WRITE),
    response={201: ContactOut, **problems(400, 404, 409, 422)},
    operation_id="addContact",
    summary="Add a contact to a case",
    tags=["cases"],
)
def add_contact_view(
    request: HttpRequest, reference: UUID, payload: ContactIn
) -> Status[ContactOut]:
    """Name a contact of the case: matched to a person we hold or created, and notified."""
    client = token_of(request).client
    case = entitled_case(client, reference)
    added = add_contact(
        client=client,
        case=case,
        details=_details(payload.person),
        last_contact=payload.last_contact,
        proximity=payload.proximity,
    )
    exposure = added.exposure
    return Status(
        201,
        ContactOut(
            case_reference=case.reference,
            contact_reference=added.contact.reference,
            last_contact=exposure.last_contact_on,
            isolation_ends_on=exposure.isolation_ends_on,
            proximity=exposure.proximity,
        ),
    )


# --- people ------------------------------------------------------------------------------------


@api.post(
    "/people/lookup",
    auth=ScopedToken(Scope.PEOPLE_LOOKUP),
    response={200: PeopleLookupOut, **problems(400, 422)},
    operation_id="lookupPeople",
    summary="Look up people by NHS number",
    tags=["people"],
)
def lookup_people_view(request: HttpRequest, payload: PeopleLookupIn) -> PeopleLookupOut:
    """People with this NHS number: references, and their cases' status in this client's
    tiers. A POST, so the NHS number never appears in a URL or an access log."""
    client = token_of(request).client
    found = lookup_by_nhs_number(client=client, nhs_number=payload.nhs_number)
    return PeopleLookupOut(
        people=[
            PersonMatch(
                reference=match.person.reference,
                cases=[CaseSummary(reference=c.reference, status=c.status) for c in match.cases],
            )
            for match in found
        ]
    )


# --- results -----------------------------------------------------------------------------------


def _report_out(report: IngestReport, *, first_line: int = 0) -> IngestReportOut:
    return IngestReportOut(
        run_reference=report.run_reference,
        received=report.received,
        imported=report.imported,
        duplicates=report.duplicates,
        rejected=report.rejected,
        positives=report.positives,
        negatives=report.negatives,
        cases_opened=report.cases_opened,
        cases_closed=report.cases_closed,
        errors=[
            RowErrorOut(row=e.row - first_line, field=e.field, reason=e.reason)
            for e in report.errors
        ],
    )


@api.post(
    "/fhir/Bundle",
    auth=ScopedToken(Scope.RESULTS_SUBMIT),
    response={200: IngestReportOut, **problems(400, 422)},
    operation_id="submitFhirBundle",
    summary="Submit results as a FHIR Bundle",
    tags=["results"],
)
def submit_bundle_view(request: HttpRequest, payload: FhirBundleIn) -> IngestReportOut:
    """Submit results as a FHIR R4 Bundle. Idempotent on the Observation's identifier: a
    result sent again counts as a duplicate and changes nothing. Invalid results are listed
    in `errors`; the valid ones are imported."""
    client = token_of(request).client
    bundle = payload.dict(exclude_none=True)
    return _report_out(submit_bundle(client=client, bundle=bundle))


@api.post(
    "/results",
    auth=ScopedToken(Scope.RESULTS_SUBMIT),
    response={200: IngestReportOut, **problems(400, 422)},
    operation_id="submitResults",
    summary="Submit results as rows",
    tags=["results"],
)
def submit_results_view(request: HttpRequest, payload: ResultRowsIn) -> IngestReportOut:
    """Submit up to 1,000 results as rows with the CSV's fields (docs/ingest.md). Idempotent
    on lab_result_id; a bad row is reported by position and field, the others imported."""
    client = token_of(request).client
    rows = [row.dict() for row in payload.rows]
    return _report_out(submit_rows(client=client, rows=rows), first_line=FIRST_ROW_LINE)


@api.get(
    "/results/{lab_result_id}",
    auth=ScopedToken(Scope.RESULTS_SUBMIT),
    response={200: ResultStatusOut, **problems(400, 404, 422)},
    operation_id="readResultStatus",
    summary="Read a result's status",
    tags=["results"],
)
def read_result_status_view(request: HttpRequest, lab_result_id: str) -> ResultStatusOut:
    """The status of a result this lab sent: received, and the case it opened, if any."""
    client = token_of(request).client
    status = status_of_result(client=client, lab_result_id=lab_result_id)
    return ResultStatusOut(
        lab_result_id=status.lab_result_id,
        outcome=status.outcome,
        specimen_date=status.specimen_date,
        received_at=status.received_at,
        case_reference=status.case_reference,
        case_status=status.case_status,
    )
