"""Every error is application/problem+json (RFC 9457) and never echoes what was sent."""

from __future__ import annotations

import json

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from confide.api.errors import problem_for
from confide.api.tests.conftest import Caller, MakeCaller
from confide.cases.tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

PERSONAL = {
    "given_name": "Zebedee\x00",
    "family_name": "Quintrell-Secret",
    "nhs_number": "943 476 5919",
    "email": "zebedee.quintrell@example.org",
}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def assert_echoes_nothing_personal(response) -> None:
    text = response.content.decode()
    for value in ("Zebedee", "Quintrell", "9434765919", "943 476 5919", "zebedee.quintrell"):
        assert value not in text


def test_no_token_is_401_with_a_bearer_challenge() -> None:
    response = Client().get("/api/cases")
    body = assert_problem(response, 401)
    assert body["type"] == "urn:confide:problem:unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_missing_scope_is_403(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:read")
    body = assert_problem(caller.post("/api/people/lookup", {"nhs_number": "9434765919"}), 403)
    assert body["type"] == "urn:confide:problem:scope-missing"


def test_a_body_that_is_not_json_is_400(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:write")
    response = caller.http.post(
        "/api/cases",
        "{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {caller.token}",
    )
    assert_problem(response, 400)


def test_an_unknown_case_is_404(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:read")
    assert_problem(caller.get("/api/cases/00000000-0000-4000-8000-000000000000"), 404)


def test_a_forbidden_move_is_409(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:write")
    case = CaseFactory.create()
    caller.patch(f"/api/cases/{case.reference}", {"status": "closed", "reason": "void"})
    assert_problem(
        caller.patch(f"/api/cases/{case.reference}", {"status": "closed", "reason": "again"}),
        409,
    )


def test_validation_errors_list_each_field_and_echo_no_personal_data(
    make_caller: MakeCaller,
) -> None:
    caller = make_caller("cases:write")
    response = caller.post(
        "/api/cases",
        {
            "person": {**PERSONAL, "date_of_birth": "not a date"},
            "specimen_date": str(timezone.localdate()),
        },
    )
    body = assert_problem(response, 422)
    assert body["type"] == "urn:confide:problem:validation"
    fields = {error["field"] for error in body["errors"]}
    assert {"person.given_name", "person.date_of_birth"} <= fields
    assert_echoes_nothing_personal(response)


def test_service_validation_errors_echo_no_personal_data(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:write")
    person = {**PERSONAL, "given_name": "Zebedee", "nhs_number": "943 476 5918"}  # bad check
    response = caller.post(
        "/api/cases", {"person": person, "specimen_date": str(timezone.localdate())}
    )
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["nhs_number"]
    assert_echoes_nothing_personal(response)


def test_an_unexpected_failure_is_a_generic_500_that_leaks_nothing() -> None:
    request = RequestFactory().get("/api/cases")
    failure = RuntimeError("psycopg: connection to db.internal as confide failed; Zebedee")
    response = problem_for(request, failure)
    body = assert_problem(response, 500)
    assert body["type"] == "about:blank"
    assert "psycopg" not in response.content.decode()
    assert_echoes_nothing_personal(response)


def test_problem_bodies_carry_only_the_rfc_9457_members(everything: Caller) -> None:
    response = everything.get("/api/cases/00000000-0000-4000-8000-000000000000")
    assert set(json.loads(response.content)) == {"type", "title", "status", "detail"}
