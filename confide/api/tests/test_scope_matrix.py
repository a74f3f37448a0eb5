"""The API's authorisation matrix: each operation needs one scope, and a token whose client
lacks it is refused (403) before anything is read or validated; no token at all is 401.

tests/test_authorization_matrix.py covers the staff pages and leaves the API's routes to this
file, because they take bearer tokens instead of staff sessions.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from confide.api.api import api
from confide.api.scopes import ALL_SCOPES, Scope
from confide.api.tests.conftest import Caller, MakeCaller
from confide.staff.models import Tier

# (method, path as in the OpenAPI document) -> the scope it needs.
EXPECTED: dict[tuple[str, str], Scope] = {
    ("get", "/api/cases"): Scope.CASES_READ,
    ("post", "/api/cases"): Scope.CASES_WRITE,
    ("get", "/api/cases/{reference}"): Scope.CASES_READ,
    ("patch", "/api/cases/{reference}"): Scope.CASES_WRITE,
    ("post", "/api/cases/{reference}/contacts"): Scope.CONTACTS_WRITE,
    ("post", "/api/people/lookup"): Scope.PEOPLE_LOOKUP,
    ("post", "/api/fhir/Bundle"): Scope.RESULTS_SUBMIT,
    ("post", "/api/results"): Scope.RESULTS_SUBMIT,
    ("get", "/api/results/{lab_result_id}"): Scope.RESULTS_SUBMIT,
}
# Routes in the API's URL namespace that take no token: they hold no personal data (the
# document, its docs page, and the 404s for the bare /api/ and for paths that are no operation).
OPEN_ROUTES = {"openapi-json", "openapi-view", "api-root", "no-such-operation"}

PATH_VALUES = {"{reference}": "00000000-0000-4000-8000-000000000000", "{lab_result_id}": "R1"}


def _operations() -> set[tuple[str, str]]:
    schema = api.get_openapi_schema(path_prefix="/api/")
    return {(method, path) for path, ops in schema["paths"].items() for method in ops}


def _url(path: str) -> str:
    for placeholder, value in PATH_VALUES.items():
        path = path.replace(placeholder, value)
    return path


def test_every_operation_has_a_row_and_every_row_an_operation() -> None:
    assert _operations() == set(EXPECTED)


def test_every_operation_declares_its_scope_as_bearer_security() -> None:
    schema = api.get_openapi_schema(path_prefix="/api/")
    for path, ops in schema["paths"].items():
        for method, operation in ops.items():
            assert operation.get("security"), f"{method.upper()} {path} takes no token"


def test_only_the_documentation_routes_are_open() -> None:
    def names(patterns: list[URLPattern | URLResolver], inside: bool) -> set[str]:
        found: set[str] = set()
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                found |= names(pattern.url_patterns, inside or pattern.namespace == "api")
            elif inside and pattern.name:
                found.add(pattern.name)
        return found

    api_route_names = names(get_resolver().url_patterns, inside=False)
    operation_views = {name for name in api_route_names if name not in OPEN_ROUTES}
    # Ninja names a route after each operation's view; each operation is in EXPECTED.
    assert len(operation_views) == len(EXPECTED)
    assert api_route_names >= OPEN_ROUTES


@pytest.fixture
def callers(make_caller: MakeCaller) -> dict[Scope, Caller]:
    return {scope: make_caller(scope, tiers=tuple(Tier.values)) for scope in sorted(ALL_SCOPES)}


MATRIX = [
    pytest.param(method, path, scope, id=f"{method.upper()} {path} with {scope}")
    for (method, path) in sorted(EXPECTED)
    for scope in sorted(ALL_SCOPES)
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "scope"), MATRIX)
def test_each_scope_reaches_only_its_operations(
    callers: dict[Scope, Caller], method: str, path: str, scope: Scope
) -> None:
    caller = callers[scope]
    url = _url(path)
    response = caller.get(url) if method == "get" else getattr(caller, method)(url, {})
    where = f"{method.upper()} {url} with {scope} answered {response.status_code}"
    if EXPECTED[(method, path)] == scope:
        assert response.status_code not in (401, 403), f"{where}: should be let through"
    else:
        assert response.status_code == 403, f"{where}: should be refused"
        assert response.json()["type"] == "urn:confide:problem:scope-missing"


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED))
def test_no_token_is_401_everywhere(method: str, path: str) -> None:
    response = getattr(Client(), method)(_url(path), {}, content_type="application/json")
    assert response.status_code == 401
