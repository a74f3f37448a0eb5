"""Lab results over the API: a lab submits as itself (the lab code is its client's, never one
in the body) and reads the status of its own submissions only. Parsing, validation, matching
and cases are confide.ingest's; this module adds the client's identity and the access log."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from confide.api.errors import ApiProblem, not_found
from confide.api.models import ApiClient
from confide.cases.models import TestResult
from confide.ingest.fhir_format import read_bundle
from confide.ingest.services import (
    IngestReport,
    ResultStatus,
    ingest_csv,
    ingest_fhir_bundle,
    result_status,
)
from confide.privacy.audit import Access, record_accesses
from confide.privacy.models import AccessAction

# The CSV's columns (docs/ingest.md) that a JSON row may carry; lab_code is not one of them.
ROW_FIELDS = (
    "lab_result_id",
    "outcome",
    "specimen_date",
    "given_name",
    "test_code",
    "symptom_onset",
    "family_name",
    "date_of_birth",
    "nhs_number",
    "phone",
    "email",
    "address",
    "postcode",
)
# The header is line 1 of the CSV we build, so JSON row n (from 0) is CSV line n + 2.
FIRST_ROW_LINE = 2


def lab_code_of(client: ApiClient) -> str:
    if not client.lab_code:
        raise ApiProblem(403, "This client has no lab code, so it cannot submit results.")
    return client.lab_code


def _log_written_results(
    client: ApiClient, lab_code: str, lab_result_ids: Iterable[str], since: datetime
) -> None:
    """One CREATE per result this submission wrote (re-sent ones wrote nothing)."""
    written = (
        TestResult.objects.filter(
            lab_code=lab_code, lab_result_id__in=set(lab_result_ids), received_at__gte=since
        )
        .order_by("pk")
        .values_list("lab_result_id", "person__reference")
    )
    record_accesses(
        [
            Access(
                action=AccessAction.CREATE,
                purpose=f"API client {client.name}: submitted a lab result",
                actor_reference=client.reference,
                subject_reference=person_reference,
                object_type="test_result",
                object_reference=f"{lab_code}/{lab_result_id}",
            )
            for lab_result_id, person_reference in written
        ]
    )


def submit_rows(*, client: ApiClient, rows: Sequence[Mapping[str, str]]) -> IngestReport:
    """Rows with the CSV's fields, imported as that CSV would be (row numbers in the report
    count from 0, as positions in the list)."""
    lab_code = lab_code_of(client)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ROW_FIELDS)
    for row in rows:
        writer.writerow([row.get(name, "") for name in ROW_FIELDS])
    buffer.seek(0)
    since = timezone.now()
    report = ingest_csv(buffer, source=f"API {client.name}", lab_code=lab_code)
    _log_written_results(client, lab_code, (row.get("lab_result_id", "") for row in rows), since)
    return report


def submit_bundle(*, client: ApiClient, bundle: Mapping[str, Any]) -> IngestReport:
    lab_code = lab_code_of(client)
    since = timezone.now()
    report = ingest_fhir_bundle(bundle, lab_code=lab_code, source=f"API {client.name}")
    if report.imported:
        ids = [r.values.get("lab_result_id", "") for r in read_bundle(bundle, lab_code=lab_code)]
        _log_written_results(client, lab_code, ids, since)
    return report


def status_of_result(*, client: ApiClient, lab_result_id: str) -> ResultStatus:
    """A result this client's lab sent; any other is "not found"."""
    lab_code = lab_code_of(client)
    status = result_status(lab_code=lab_code, lab_result_id=lab_result_id)
    if status is None:
        raise not_found("result")
    person_reference = (
        TestResult.objects.filter(lab_code=lab_code, lab_result_id=lab_result_id)
        .values_list("person__reference", flat=True)
        .first()
    )
    record_accesses(
        [
            Access(
                action=AccessAction.VIEW,
                purpose=f"API client {client.name}: read a result's status",
                actor_reference=client.reference,
                subject_reference=person_reference,
                object_type="test_result",
                object_reference=f"{lab_code}/{lab_result_id}",
            )
        ]
    )
    return status
