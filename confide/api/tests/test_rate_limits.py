"""Rate limits: per token, and per address for failed authentications, counted in the
database so every app server shares them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from confide.api import ratelimit
from confide.api.models import RateLimitWindow
from confide.api.tests.conftest import MakeCaller

pytestmark = pytest.mark.django_db


def test_a_token_over_its_limit_gets_429_with_retry_after(
    make_caller: MakeCaller, settings
) -> None:
    settings.CONFIDE_API_REQUESTS_PER_MINUTE = 3
    caller = make_caller("cases:read")
    statuses = [caller.get("/api/cases").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = caller.get("/api/cases")
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "urn:confide:problem:rate-limited"
    assert 1 <= int(response["Retry-After"]) <= 24 * 60 * 60


def test_one_tokens_limit_does_not_hold_back_another(make_caller: MakeCaller, settings) -> None:
    settings.CONFIDE_API_REQUESTS_PER_MINUTE = 1
    first, second = make_caller("cases:read"), make_caller("cases:read")
    first.get("/api/cases")
    assert first.get("/api/cases").status_code == 429
    assert second.get("/api/cases").status_code == 200


def test_two_app_servers_share_a_tokens_count(make_caller: MakeCaller, settings) -> None:
    """Two clients with their own handlers stand in for two servers: only the database is
    shared between them, as between stateless app servers."""
    settings.CONFIDE_API_REQUESTS_PER_MINUTE = 2
    caller = make_caller("cases:read")
    other_server = Client()
    headers = {"Authorization": f"Bearer {caller.token}"}
    assert caller.http.get("/api/cases", headers=headers).status_code == 200
    assert other_server.get("/api/cases", headers=headers).status_code == 200
    assert caller.http.get("/api/cases", headers=headers).status_code == 429
    assert other_server.get("/api/cases", headers=headers).status_code == 429


def test_repeated_bad_tokens_from_one_address_are_slowed_down(settings) -> None:
    settings.CONFIDE_API_AUTH_FAILURES_PER_MINUTE = 3
    client = Client(REMOTE_ADDR="192.0.2.10")
    bad = {"Authorization": "Bearer cfd_000000000000_" + "x" * 43}
    statuses = [client.get("/api/cases", headers=bad).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert "Retry-After" in client.get("/api/cases", headers=bad)
    # Another address is not held back.
    assert Client(REMOTE_ADDR="192.0.2.11").get("/api/cases", headers=bad).status_code == 401


def test_the_address_is_not_stored_in_clear(settings) -> None:
    Client(REMOTE_ADDR="192.0.2.77").get("/api/cases")
    keys = list(RateLimitWindow.objects.values_list("key", flat=True))
    assert keys
    assert not any("192.0.2.77" in key for key in keys)


def test_a_new_minute_starts_a_new_count(settings) -> None:
    settings.CONFIDE_API_RATE_WINDOW_SECONDS = 60
    start = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)
    assert ratelimit.count_request("k", limit=1, now=start).allowed
    refused = ratelimit.count_request("k", limit=1, now=start + timedelta(seconds=10))
    assert not refused.allowed
    assert refused.retry_after_seconds == 20
    assert ratelimit.count_request("k", limit=1, now=start + timedelta(seconds=31)).allowed
