"""Every API error is application/problem+json (RFC 9457), and none echoes what was sent.

`detail` is written by us, never copied from an exception or the request, so a 4xx cannot
reflect personal data back (or into a proxy's log) and a 500 cannot leak internals.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

logger = logging.getLogger("confide.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Problem types are URNs: stable identifiers documented in docs/api.md, not pages to fetch.
TYPE_PREFIX = "urn:confide:problem:"


class ApiProblem(Exception):
    """A domain refusal to turn into problem+json at the edge."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str = "",
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.errors = errors
        self.headers = headers or {}


def rate_limited(retry_after: int) -> ApiProblem:
    return ApiProblem(
        429,
        f"Too many requests. Wait {retry_after} seconds before trying again.",
        kind="rate-limited",
        headers={"Retry-After": str(retry_after)},
    )


def not_found(what: str = "resource") -> ApiProblem:
    return ApiProblem(404, f"No such {what}, or this client may not see it.", kind="not-found")


def problem_response(
    *,
    status: int,
    detail: str,
    kind: str = "",
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + kind if kind else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_name(location: Any) -> str:
    """`("body", "payload", "specimen_date")` -> `specimen_date`; list positions kept."""
    parts = [str(part) for part in location if part not in ("body", "payload", "query", "path")]
    return ".".join(parts) or "body"


def field_errors_from_ninja(exc: NinjaValidationError) -> list[dict[str, str]]:
    # Only pydantic's fixed messages, never the `input` or `ctx` values it echoes.
    return [
        {"field": _field_name(error.get("loc", ())), "message": str(error.get("msg", "Invalid"))}
        for error in exc.errors
    ]


def field_errors_from_django(exc: DjangoValidationError) -> list[dict[str, str]]:
    if hasattr(exc, "error_dict"):
        return [
            {"field": field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return [{"field": "body", "message": message} for message in exc.messages]


def problem_for(request: HttpRequest, exc: Exception | type[Exception]) -> HttpResponse:
    """The problem+json answer for anything an API view or ninja itself raised."""
    if isinstance(exc, ApiProblem):
        return problem_response(
            status=exc.status,
            detail=exc.detail,
            kind=exc.kind,
            errors=exc.errors,
            headers=exc.headers,
        )
    if isinstance(exc, NinjaValidationError | DjangoValidationError):
        errors = (
            field_errors_from_ninja(exc)
            if isinstance(exc, NinjaValidationError)
            else field_errors_from_django(exc)
        )
        return problem_response(
            status=422,
            detail="The request has invalid fields; see errors.",
            kind="validation",
            errors=errors,
        )
    if isinstance(exc, AuthenticationError):
        return problem_response(
            status=401,
            detail="Send a valid API token: Authorization: Bearer cfd_...",
            kind="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="confide"'},
        )
    if isinstance(exc, HttpError):
        # Ninja raises these itself, e.g. 400 for a body that is not JSON.
        detail = "The request body is not valid JSON." if exc.status_code == 400 else ""
        return problem_response(
            status=exc.status_code, detail=detail or HTTPStatus(exc.status_code).phrase
        )
    if isinstance(exc, Http404):
        return problem_response(status=404, detail="Not found.", kind="not-found")
    logger.exception("API request failed: %s %s", request.method, request.path)
    return problem_response(
        status=500,
        detail="Something went wrong on our side. It has been logged; try again later.",
    )


def install_problem_handlers(api: NinjaAPI) -> None:
    # Registered for each class ninja has its own default handler for, so ours wins.
    for exc_class in (
        ApiProblem,
        NinjaValidationError,
        DjangoValidationError,
        AuthenticationError,
        HttpError,
        Http404,
        Exception,
    ):
        api.add_exception_handler(exc_class, problem_for)
