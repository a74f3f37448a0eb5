"""The id of the request being served, for every log line written while serving it."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("confide_request_id", default="-")

# A proxy's own id is kept so one request can be followed across tiers; anything else (too long,
# odd characters, a value smuggled in to poison the logs) is replaced by our own.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id_from(header: str | None) -> str:
    if header and _ACCEPTABLE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex
