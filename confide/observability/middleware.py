"""One middleware at the top of the stack: a request id, the access log line, the latency
metric and the security headers Django itself does not set."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from confide.observability.context import REQUEST_ID, request_id_from
from confide.observability.metrics import observe_request

access_log = logging.getLogger("confide.access")

# Passkeys need WebAuthn in our own pages; nothing in Confide needs any other device feature.
PERMISSIONS_POLICY = ", ".join(
    [
        "accelerometer=()",
        "camera=()",
        "display-capture=()",
        "geolocation=()",
        "gyroscope=()",
        "magnetometer=()",
        "microphone=()",
        "payment=()",
        "usb=()",
        "publickey-credentials-create=(self)",
        "publickey-credentials-get=(self)",
    ]
)


def route_of(request: HttpRequest) -> str:
    """The URL pattern's name, never the path: paths can hold self-service tokens."""
    match = request.resolver_match
    if match is not None:
        return match.view_name or "unnamed"
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


class ObservabilityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get("X-Request-ID"))
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            route = route_of(request)
            method = request.method if request.method in _METHODS else "OTHER"
            observe_request(
                route=route, method=method, status=response.status_code, seconds=seconds
            )
            access_log.info(
                "%s %s %s %.1fms",
                method,
                route,
                response.status_code,
                seconds * 1000,
                extra={
                    "route": route,
                    "method": method,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            response["X-Request-ID"] = request_id
            response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
            response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
            return response
        finally:
            REQUEST_ID.reset(token)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
