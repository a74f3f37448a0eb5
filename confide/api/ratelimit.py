"""Fixed-window rate limits kept in the database, so every stateless app server counts the
same requests (a per-process counter would multiply the limit by the number of processes).

Hand-written rather than django-ratelimit because that counts in Django's cache, and ours is the
per-process local-memory cache; one upsert per request in the database we already run is
enough at API volumes and needs no new service.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from confide.api.models import RateLimitWindow
from confide.privacy.blind_index import purpose_key


def window() -> timedelta:
    """The counting window (a minute; tests lengthen it so none ends mid-test)."""
    return timedelta(seconds=int(getattr(settings, "CONFIDE_API_RATE_WINDOW_SECONDS", 60)))


def token_requests_per_minute() -> int:
    """Requests a token may make per window."""
    return int(getattr(settings, "CONFIDE_API_REQUESTS_PER_MINUTE", 600))


def failures_per_minute() -> int:
    """Failed authentications an address may make per window."""
    return int(getattr(settings, "CONFIDE_API_AUTH_FAILURES_PER_MINUTE", 20))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_seconds: int


def _window_start(now: datetime) -> datetime:
    length = window().total_seconds()
    return datetime.fromtimestamp(now.timestamp() // length * length, tz=UTC)


def count_request(key: str, *, limit: int, now: datetime | None = None) -> Verdict:
    """Count one request against `key` in the current minute; over `limit`, refuse it."""
    now = now or timezone.now()
    start = _window_start(now)
    q = connection.ops.quote_name
    table, key_col, start_col, count_col = (
        q(RateLimitWindow._meta.db_table),
        q("key"),
        q("window_start"),
        q("count"),
    )
    # One atomic statement on both SQLite (3.35+) and PostgreSQL: concurrent requests on
    # different servers cannot both read the old count.
    sql = (
        f"INSERT INTO {table} ({key_col}, {start_col}, {count_col}) VALUES (%s, %s, 1) "  # noqa: S608
        f"ON CONFLICT ({key_col}) DO UPDATE SET {count_col} = CASE "
        f"WHEN {table}.{start_col} = excluded.{start_col} THEN {table}.{count_col} + 1 "
        f"ELSE 1 END, {start_col} = excluded.{start_col} RETURNING {count_col}"
    )
    with connection.cursor() as cursor:
        # Stored as the ORM stores it, so `is_limited` (an ORM query) finds the row.
        cursor.execute(sql, [key, connection.ops.adapt_datetimefield_value(start)])
        (count,) = cursor.fetchone()
    if count <= limit:
        return Verdict(True, 0)
    retry_after = math.ceil((start + window() - now).total_seconds())
    return Verdict(False, max(retry_after, 1))


def is_limited(key: str, *, limit: int, now: datetime | None = None) -> Verdict:
    """Whether `key` is already over `limit` this minute, without counting a request."""
    now = now or timezone.now()
    start = _window_start(now)
    row = RateLimitWindow.objects.filter(key=key, window_start=start).first()
    if row is None or row.count < limit:
        return Verdict(True, 0)
    return Verdict(False, max(math.ceil((start + window() - now).total_seconds()), 1))


def token_key(token_id: int) -> str:
    return f"token:{token_id}"


def address_key(address: str) -> str:
    """An address is personal data: the key is a keyed hash of it, never the address."""
    digest = hmac.new(purpose_key("api-rate-limit"), address.encode(), hashlib.sha256)
    return f"ip:{digest.hexdigest()[:32]}"


def purge_old_windows(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    deleted, _ = RateLimitWindow.objects.filter(window_start__lt=now - 2 * window()).delete()
    return deleted
