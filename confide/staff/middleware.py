"""Staff sessions: idle timeout, two factors before any staff page, and who is acting."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from confide.privacy.context import acting_as
from confide.staff.models import StaffMember
from confide.staff.otp import is_verified

LAST_SEEN = "confide_last_seen"
# The last-seen time is written back at most once a minute: writing it on every request made
# every page an UPDATE of the session row in a transaction of its own. The idle timeout can
# then end a session up to a minute early, never late.
LAST_SEEN_RESOLUTION_SECONDS = 60


class StaffSessionMiddleware:
    """Signs staff out after CONFIDE_IDLE_TIMEOUT_MINUTES idle; sends a member who has not yet
    given their second factor to the code page for any view not declared @public (the same
    declaration the authorisation-matrix test reads, so there is no second list to drift)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        now = time.time()
        last_seen = request.session.get(LAST_SEEN, now)
        if now - last_seen > settings.CONFIDE_IDLE_TIMEOUT_MINUTES * 60:
            logout(request)
            return redirect(f"{settings.LOGIN_URL}?timed_out=1")
        if LAST_SEEN not in request.session or now - last_seen >= LAST_SEEN_RESOLUTION_SECONDS:
            request.session[LAST_SEEN] = now
        verified = is_verified(user)
        with acting_as(user if verified and isinstance(user, StaffMember) else None):
            return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if (
            user.is_authenticated
            and not is_verified(user)
            and not getattr(view_func, "is_public", False)
        ):
            return redirect("staff:two_factor")
        return None
