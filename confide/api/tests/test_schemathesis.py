"""Acceptance: schemathesis generates requests for every operation in /api/openapi.json, sent
with a token holding every scope, and finds no server error and no response that breaks the
document (status codes, content types, headers, bodies).

Each operation is generated four ways: valid requests (positive), invalid ones (negative),
valid ones aimed at records that exist (a case, a result), and, for operations with a body,
a body the services accept, so the success paths run as well as the refusals. Examples per
operation are bounded to keep the run near a minute.

(schemathesis.pytest.from_fixture fails under pytest 9, so the operations are parametrized
here and each is driven through its own Hypothesis strategy.)
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from confide.api.api import api
from confide.api.tests.conftest import Caller
from confide.cases.tests.factories import CaseFactory
from confide.ingest.rows import PERSON_FIELDS
from confide.ingest.tests.samples import bundle, result_row

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
MAX_EXAMPLES = 10

OPERATIONS = sorted(
    (method.upper(), path)
    for path, operations in api.get_openapi_schema(path_prefix="/api/")["paths"].items()
    for method in operations
)
AIMS = ("positive", "negative", "existing records", "valid body")


def valid_bodies() -> dict[tuple[str, str], Any]:
    """A request body the services accept, for each operation that takes one: random bodies
    rarely get past validation (check digits, dates in an infectious period), and the success
    answers must keep to the document too."""
    today = timezone.localdate()
    person = {k: v for k, v in result_row(2).items() if k in PERSON_FIELDS}
    row = {k: v for k, v in result_row(3).items() if k != "lab_code"}
    return {
        ("POST", "/api/cases"): {"person": person, "specimen_date": str(today)},
        ("PATCH", "/api/cases/{reference}"): {"status": "closed", "reason": "void result"},
        ("POST", "/api/cases/{reference}/contacts"): {
            "person": {k: v for k, v in result_row(4).items() if k in PERSON_FIELDS},
            "last_contact": str(today - timedelta(days=1)),
            "proximity": "household",
        },
        ("POST", "/api/people/lookup"): {"nhs_number": person["nhs_number"]},
        ("POST", "/api/results"): {"rows": [row]},
        ("POST", "/api/fhir/Bundle"): bundle([result_row(5)]),
    }


RUNS = [
    pytest.param(method, path, aim, id=f"{method} {path} {aim}")
    for method, path in OPERATIONS
    for aim in AIMS
    if (aim != "existing records" or "{" in path) and (aim != "valid body" or method != "GET")
]


def in_test_transaction(app: Any) -> Any:
    """The WSGI application, minus the end-of-request close of database connections (as
    Django's test client does), so each request sees and keeps the test's transaction."""

    def call(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = app(environ, start_response)
            body = b"".join(response)
            response.close()  # fires request_finished
            return [body]
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    return call


@functools.cache
def _loaded_schema() -> Any:
    # Loaded once: reading and resolving the document takes seconds, and it does not change.
    return schemathesis.openapi.from_wsgi(
        "/api/openapi.json", in_test_transaction(get_wsgi_application())
    )


@pytest.fixture
def api_schema(db: None) -> Any:
    """The document, served by the real WSGI application in this process."""
    return _loaded_schema()


@pytest.fixture(autouse=True)
def _no_rate_limit(settings: Any) -> None:
    settings.CONFIDE_API_REQUESTS_PER_MINUTE = 10_000_000
    settings.CONFIDE_API_AUTH_FAILURES_PER_MINUTE = 10_000_000


@pytest.fixture
def records(everything: Caller) -> dict[str, str]:
    """A case the client may see (recent, so contacts can be added) and a result it sent."""
    today = timezone.localdate()
    case = CaseFactory.create(specimen_date=today - timedelta(days=2), today=today)
    row = result_row(1)
    del row["lab_code"]
    row["specimen_date"] = str(today - timedelta(days=1))
    assert everything.post("/api/results", {"rows": [row]}).json()["imported"] == 1
    return {"reference": str(case.reference), "lab_result_id": row["lab_result_id"]}


@pytest.mark.parametrize(("method", "path", "aim"), RUNS)
def test_the_api_keeps_to_its_openapi_document(
    api_schema: Any,
    everything: Caller,
    records: dict[str, str],
    method: str,
    path: str,
    aim: str,
) -> None:
    operation = api_schema[path][method]
    known = {p.name: records[p.name] for p in operation.path_parameters}
    if aim == "existing records":
        strategy = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known)
    elif aim == "valid body":
        strategy = operation.as_strategy(
            GenerationMode.POSITIVE,
            path_parameters=known,
            body=valid_bodies()[(method, path)],
            media_type="application/json",
        )
    else:
        strategy = operation.as_strategy(GenerationMode(aim))
    headers = {"Authorization": f"Bearer {everything.token}"}

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def keeps_to_the_document(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    keeps_to_the_document()
