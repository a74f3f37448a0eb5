"""Logs carry request ids and route names, and never a value a person sent."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from confide.api.services import issue_token, save_client
from confide.ingest.tests.samples import result_row
from confide.observability.context import request_id_from
from confide.observability.logs import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything logged while the test runs, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_no_personal_value_from_a_request_appears_in_the_logs(json_log: io.StringIO) -> None:
    row = result_row(4242)
    del row["lab_code"]
    lab = save_client(name="Log lab", scopes=["results:submit"], lab_code="LOGLAB")
    token = issue_token(client=lab).secret_token
    client = Client(raise_request_exception=False)

    client.post("/sign-in/", {"email": row["email"], "password": "correct horse battery staple"})
    client.get("/statistics/", {"email": row["email"], "nhs_number": row["nhs_number"]})
    client.get(f"/self-service/{token}/{row['postcode']}/")  # a path that is not a page
    client.post(
        "/api/results",
        json.dumps({"rows": [row]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    client.post("/api/results", "{not json", content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip

    logged = json_log.getvalue()
    personal = [v for k, v in row.items() if k not in {"outcome", "specimen_date", "test_code"}]
    secrets = [*personal, token, "correct horse battery staple", "self-service", "nhs_number"]
    assert [value for value in secrets if value and value in logged] == []
    assert len(_records(json_log)) >= 5  # every line is one JSON object


def test_each_request_has_one_access_line_with_route_status_duration_and_id(
    json_log: io.StringIO,
) -> None:
    response = Client().get("/healthz", {"token": "abc"})

    access = [r for r in _records(json_log) if r["name"] == "confide.access"]
    assert len(access) == 1
    line = access[0]
    assert line["route"] == "healthz"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["request_id"] == response["X-Request-ID"]
    assert "abc" not in json.dumps(line)


def test_a_page_that_is_not_found_is_logged_without_its_path(json_log: io.StringIO) -> None:
    Client().get("/no-such-page/tok3n-value/")

    records = _records(json_log)
    assert "tok3n-value" not in json_log.getvalue()
    assert {"route": "unmatched", "status": 404} in [
        {"route": r.get("route"), "status": r.get("status")} for r in records
    ]


def test_a_proxys_request_id_is_kept_and_a_strange_one_replaced() -> None:
    assert request_id_from("abcd1234-ef56") == "abcd1234-ef56"
    replaced = request_id_from('x" injected=1\nnext line')
    assert len(replaced) == 32
    assert replaced.isalnum()
    assert request_id_from(None) != request_id_from(None)
