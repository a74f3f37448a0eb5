"""Staff sessions: idle timeout, two factors before any staff page, and who is acting."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from confide.privacy.context import acting_as
from confide.staff.models import StaffMember
from confide.staff.otp import is_verified

# Pages a signed-in but not yet verified (second factor) staff member may see.
OPEN_PREFIXES = ("/sign-in/", "/sign-out/", "/static/", "/healthz", "/api/", "/public/")
OPEN_EXACT = ("/",)
LAST_SEEN = "confide_last_seen"


class StaffSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(LAST_SEEN, now)
            if now - last_seen > settings.CONFIDE_IDLE_TIMEOUT_MINUTES * 60:
                logout(request)
                return redirect(f"{settings.LOGIN_URL}?timed_out=1")
            request.session[LAST_SEEN] = now
            path = request.path
            verified = is_verified(user)
            if not verified and not (path.startswith(OPEN_PREFIXES) or path in OPEN_EXACT):
                return redirect("staff:two_factor")
            with acting_as(user if verified and isinstance(user, StaffMember) else None):
                return self.get_response(request)
        return self.get_response(request)
