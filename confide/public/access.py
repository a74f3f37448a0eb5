"""Who a member of the public is, once they have verified themselves through their link.

The one contract between the public pages (confide.public) and the support payments
(confide.support): a verified visitor is a person reached through one case (as the case) or
one exposure (as a contact). Nothing else about them is kept in the session.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Literal

from django.http import HttpRequest

VISITOR_SESSION_KEY = "confide_public_visitor"
# A verified visitor is asked to verify again after this long without a request.
VISITOR_IDLE_SECONDS = 30 * 60

Role = Literal["case", "contact"]


@dataclass(frozen=True)
class PublicVisitor:
    person_id: int
    role: Role
    case_id: int | None  # set when role == "case"
    exposure_id: int | None  # set when role == "contact"
    link_id: int  # the self-service link they verified through


def remember_verified_visitor(request: HttpRequest, visitor: PublicVisitor) -> None:
    """Called only after the link, date of birth and one-time code have all been checked."""
    request.session.cycle_key()  # a new session id: no fixation across the verification
    request.session[VISITOR_SESSION_KEY] = {**asdict(visitor), "seen": time.time()}


def verified_visitor(request: HttpRequest) -> PublicVisitor | None:
    """The verified visitor of this request, or None (never verified, idle too long)."""
    stored = request.session.get(VISITOR_SESSION_KEY)
    if not isinstance(stored, dict):
        return None
    now = time.time()
    if now - float(stored.get("seen", 0)) > VISITOR_IDLE_SECONDS:
        forget_visitor(request)
        return None
    request.session[VISITOR_SESSION_KEY] = {**stored, "seen": now}
    return PublicVisitor(
        person_id=int(stored["person_id"]),
        role=stored["role"],
        case_id=stored["case_id"],
        exposure_id=stored["exposure_id"],
        link_id=int(stored["link_id"]),
    )


def forget_visitor(request: HttpRequest) -> None:
    request.session.pop(VISITOR_SESSION_KEY, None)
