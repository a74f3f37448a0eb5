"""Tokens: only hashes stored, shown once, rotated with an overlap, revoked, expired."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from confide.api.models import ApiClient, ApiToken
from confide.api.services import (
    authenticate_token,
    issue_token,
    revoke_token,
    rotate_token,
    save_client,
)
from confide.api.tests.conftest import Caller
from confide.api.tokens import parse_token

pytestmark = pytest.mark.django_db


def _client() -> ApiClient:
    return save_client(name="Trust B", scopes=["cases:read"], entitled_tiers=[2])


def test_a_token_is_stored_only_as_the_hash_of_its_secret() -> None:
    issued = issue_token(client=_client())
    parts = parse_token(issued.secret_token)
    assert parts is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken")
        stored = repr(cursor.fetchall())
    assert parts.secret not in stored
    assert issued.secret_token not in stored
    assert parts.prefix in stored


def test_a_live_token_authenticates_and_records_when_it_was_used() -> None:
    issued = issue_token(client=_client())
    token = authenticate_token(issued.secret_token)
    assert token is not None
    assert token.pk == issued.token.pk
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: t.replace("cfd_", "cfx_"),  # not our format
        lambda t: "cfd_000000000000_" + t.split("_", 2)[2],  # unknown prefix
        lambda t: "",
    ],
)
def test_a_wrong_token_does_not_authenticate(tamper) -> None:
    issued = issue_token(client=_client())
    assert authenticate_token(tamper(issued.secret_token)) is None


def test_a_revoked_token_no_longer_works() -> None:
    issued = issue_token(client=_client())
    revoke_token(token=issued.token)
    assert authenticate_token(issued.secret_token) is None


def test_an_expired_token_no_longer_works() -> None:
    issued = issue_token(client=_client(), lifetime=timedelta(days=1))
    assert (
        authenticate_token(issued.secret_token, now=timezone.now() + timedelta(days=1, seconds=1))
        is None
    )


def test_a_rotated_token_works_during_the_overlap_and_not_after() -> None:
    old = issue_token(client=_client())
    now = timezone.now()
    new = rotate_token(token=old.token, overlap=timedelta(minutes=30), now=now)
    assert authenticate_token(new.secret_token, now=now) is not None
    assert authenticate_token(old.secret_token, now=now + timedelta(minutes=29)) is not None
    assert authenticate_token(old.secret_token, now=now + timedelta(minutes=31)) is None
    old.token.refresh_from_db()
    assert old.token.replaced_by_id == new.token.pk


def test_rotating_with_no_overlap_revokes_the_old_token_at_once() -> None:
    old = issue_token(client=_client())
    new = rotate_token(token=old.token, overlap=timedelta(0))
    assert authenticate_token(old.secret_token) is None
    assert authenticate_token(new.secret_token) is not None


def test_the_api_refuses_a_revoked_token_with_401(make_caller) -> None:
    caller: Caller = make_caller("cases:read")
    assert caller.get("/api/cases").status_code == 200
    token = ApiToken.objects.get(client=caller.client)
    revoke_token(token=token)
    response = caller.get("/api/cases")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_lab_client_must_say_which_lab_it_is() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        save_client(name="Lab", scopes=["results:submit"])
    assert "lab_code" in caught.value.message_dict


def test_the_command_creates_lists_rotates_and_revokes_tokens() -> None:
    out = StringIO()
    call_command(
        "api-token",
        "create",
        "--client",
        "Lab A",
        "--scope",
        "results:submit",
        "--lab-code",
        "LABA",
        stdout=out,
    )
    secret = next(line for line in out.getvalue().splitlines() if line.startswith("cfd_"))
    token = authenticate_token(secret)
    assert token is not None
    assert token.client.lab_code == "LABA"

    out = StringIO()
    call_command("api-token", "rotate", token.prefix, "--overlap-minutes", "0", stdout=out)
    rotated = next(line for line in out.getvalue().splitlines() if line.startswith("cfd_"))
    assert authenticate_token(secret) is None
    new = authenticate_token(rotated)
    assert new is not None

    call_command("api-token", "revoke", new.prefix, stdout=StringIO())
    assert authenticate_token(rotated) is None

    out = StringIO()
    call_command("api-token", "list", stdout=out)
    listing = out.getvalue()
    assert "Lab A" in listing
    assert "revoked" in listing
    assert rotated.split("_", 2)[2] not in listing  # the secret may itself hold "_"
