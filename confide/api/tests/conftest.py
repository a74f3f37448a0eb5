"""Fixtures for API tests: clients with the scopes a test needs, and an HTTP client sending
their token the way a lab or an integration would."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from confide.api.models import ApiClient
from confide.api.scopes import ALL_SCOPES
from confide.api.services import issue_token, save_client
from confide.staff.models import Tier


@dataclass
class Caller:
    """An API client, its token and a test client that sends it."""

    client: ApiClient
    token: str
    http: Client

    def _send(self, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        send = getattr(self.http, method)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}", **extra}
        if body is None:
            return send(path, **headers)
        return send(path, json.dumps(body), content_type="application/json", **headers)

    def get(self, path: str, **extra: Any) -> Any:
        return self._send("get", path, **extra)

    def post(self, path: str, body: Any, **extra: Any) -> Any:
        return self._send("post", path, body, **extra)

    def patch(self, path: str, body: Any, **extra: Any) -> Any:
        return self._send("patch", path, body, **extra)


MakeCaller = Callable[..., Caller]


@pytest.fixture(autouse=True)
def _long_rate_windows(settings: Any) -> None:
    """A day-long counting window, so no test's requests straddle the end of a minute."""
    settings.CONFIDE_API_RATE_WINDOW_SECONDS = 24 * 60 * 60


@pytest.fixture
def make_caller(db: None) -> MakeCaller:
    made = 0

    def make(
        *scopes: str,
        tiers: tuple[int, ...] = (Tier.CLINICAL,),
        lab_code: str = "",
        name: str = "",
    ) -> Caller:
        nonlocal made
        made += 1
        needs_lab = "results:submit" in scopes
        client = save_client(
            name=name or f"client {made}",
            scopes=scopes,
            entitled_tiers=tiers,
            lab_code=lab_code or (f"LAB{made}" if needs_lab else ""),
        )
        return Caller(client=client, token=issue_token(client=client).secret_token, http=Client())

    return make


@pytest.fixture
def everything(make_caller: MakeCaller) -> Caller:
    """A client holding every scope, entitled to every tier."""
    return make_caller(*sorted(ALL_SCOPES), tiers=tuple(Tier.values))
