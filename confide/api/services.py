"""Writes about API clients and their tokens: issue, rotate, revoke, authenticate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from confide.api.models import ApiClient, ApiToken
from confide.api.scopes import ALL_SCOPES
from confide.api.tokens import hash_secret, new_token_parts, parse_token, secret_matches
from confide.staff.models import Tier

DEFAULT_TOKEN_LIFETIME = timedelta(days=90)
# How long a rotated token keeps working, so a client can deploy its new one without an outage.
DEFAULT_ROTATION_OVERLAP = timedelta(hours=1)
# `last_used_at` is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """A token as made: `secret_token` is the only time the full string exists."""

    token: ApiToken
    secret_token: str


def _clean_client_fields(
    *, name: str, scopes: Iterable[str], entitled_tiers: Iterable[int], lab_code: str
) -> tuple[str, list[str], list[int], str]:
    errors: dict[str, list[str]] = {}
    clean_name = " ".join(name.split())
    if not clean_name:
        errors["name"] = ["Give the client a name"]
    scope_list = sorted(set(scopes))
    unknown = [s for s in scope_list if s not in ALL_SCOPES]
    if unknown:
        errors["scopes"] = [f"Unknown scopes: {', '.join(unknown)}; known: {sorted(ALL_SCOPES)}"]
    if not scope_list:
        errors["scopes"] = ["Give the client at least one scope"]
    tiers = sorted(set(entitled_tiers))
    if any(t not in Tier.values for t in tiers):
        errors["entitled_tiers"] = [f"Tiers are {Tier.values}"]
    if "results:submit" in scope_list and not lab_code.strip():
        errors["lab_code"] = ["A client that submits results needs its lab code"]
    if errors:
        raise ValidationError(errors)
    return clean_name, scope_list, tiers, lab_code.strip()


def save_client(
    *, name: str, scopes: Iterable[str], entitled_tiers: Iterable[int] = (), lab_code: str = ""
) -> ApiClient:
    """Create the client, or set an existing one's scopes, tiers and lab code."""
    clean_name, scope_list, tiers, clean_lab = _clean_client_fields(
        name=name, scopes=scopes, entitled_tiers=entitled_tiers, lab_code=lab_code
    )
    if clean_lab and ApiClient.objects.filter(lab_code=clean_lab).exclude(name=clean_name).exists():
        raise ValidationError({"lab_code": ["Another client already submits as this lab"]})
    with transaction.atomic():
        client, _ = ApiClient.objects.update_or_create(
            name=clean_name,
            defaults={"scopes": scope_list, "entitled_tiers": tiers, "lab_code": clean_lab},
        )
    return client


def issue_token(
    *, client: ApiClient, lifetime: timedelta = DEFAULT_TOKEN_LIFETIME, now: datetime | None = None
) -> IssuedToken:
    now = now or timezone.now()
    if lifetime <= timedelta(0):
        raise ValidationError({"lifetime": ["A token must live for some time"]})
    parts = new_token_parts()
    token = ApiToken.objects.create(
        client=client,
        prefix=parts.prefix,
        secret_hash=hash_secret(parts.secret),
        expires_at=now + lifetime,
    )
    return IssuedToken(token=token, secret_token=str(parts))


def rotate_token(
    *,
    token: ApiToken,
    overlap: timedelta = DEFAULT_ROTATION_OVERLAP,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
    now: datetime | None = None,
) -> IssuedToken:
    """A new token for the same client; the old one works for `overlap` more (0: revoked now)."""
    now = now or timezone.now()
    if token.revoked_at is not None or token.expires_at <= now:
        raise ValidationError({"token": ["Only a live token can be rotated; issue a new one"]})
    if overlap < timedelta(0):
        raise ValidationError({"overlap": ["The overlap cannot be negative"]})
    with transaction.atomic():
        issued = issue_token(client=token.client, lifetime=lifetime, now=now)
        token.replaced_by = issued.token
        if overlap == timedelta(0):
            token.revoked_at = now
        else:
            token.expires_at = min(token.expires_at, now + overlap)
        token.save(update_fields=["replaced_by", "revoked_at", "expires_at"])
    return issued


def revoke_token(*, token: ApiToken, now: datetime | None = None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = now or timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def authenticate_token(value: str, *, now: datetime | None = None) -> ApiToken | None:
    """The live token this string is, or None (malformed, unknown, wrong secret, expired or
    revoked all look the same to the caller)."""
    now = now or timezone.now()
    parts = parse_token(value)
    if parts is None:
        return None
    token = ApiToken.objects.select_related("client").filter(prefix=parts.prefix).first()
    if token is None or not secret_matches(parts.secret, token.secret_hash):
        return None
    if token.revoked_at is not None or token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
