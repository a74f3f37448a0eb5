"""Bearer-token authentication for the API, with each operation's scope and the rate limits."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from confide.api import ratelimit
from confide.api.errors import ApiProblem, rate_limited
from confide.api.models import ApiToken
from confide.api.scopes import Scope
from confide.api.services import authenticate_token


def client_address(request: HttpRequest) -> str:
    # Behind a proxy this is the proxy unless it sets REMOTE_ADDR from X-Forwarded-For (as
    # gunicorn does with --forwarded-allow-ips); trusting the header directly would let a caller
    # choose their own bucket.
    return str(request.META.get("REMOTE_ADDR", ""))


class ScopedToken(HttpBearer):
    """Lets a request through with a live token that holds `scope`, within its rate limit.

    Failed authentications count against the caller's address, so guessing tokens from one
    address is slowed down across every app server; a token's requests count against the token.
    """

    openapi_scheme = "bearer"

    def __init__(self, scope: Scope) -> None:
        super().__init__()
        self.scope = scope

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        address_key = ratelimit.address_key(client_address(request))
        verdict = ratelimit.is_limited(address_key, limit=ratelimit.failures_per_minute())
        if not verdict.allowed:
            raise rate_limited(verdict.retry_after_seconds)
        token = self._bearer_token(request)
        if token is None:
            ratelimit.count_request(address_key, limit=ratelimit.failures_per_minute())
            return None
        assert isinstance(token, ApiToken)
        verdict = ratelimit.count_request(
            ratelimit.token_key(token.pk), limit=ratelimit.token_requests_per_minute()
        )
        if not verdict.allowed:
            raise rate_limited(verdict.retry_after_seconds)
        if self.scope not in token.client.scopes:
            raise ApiProblem(
                403,
                f"This token's client does not hold the {self.scope} scope.",
                kind="scope-missing",
            )
        return token

    def _bearer_token(self, request: HttpRequest) -> ApiToken | None:
        # Parsed here rather than by HttpBearer.__call__, which logs the header in DEBUG.
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        return self.authenticate(request, value.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return authenticate_token(token)


def token_of(request: HttpRequest) -> ApiToken:
    token = request.auth  # type: ignore[attr-defined]
    assert isinstance(token, ApiToken)
    return token
