"""Every view declares its permission (or that it is public) with one of these decorators.

The authorisation-matrix test reads `required_permission` / `is_public` from each URL's view,
so a new view without a declared rule fails the build instead of being open by accident.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from confide.staff.otp import is_verified

View = TypeVar("View", bound=Callable[..., HttpResponse])


def public(view: View) -> View:
    view.is_public = True  # type: ignore[attr-defined]
    return view


def requires(
    permission: str, *, target: Callable[..., Any] | None = None
) -> Callable[[View], View]:
    """Signed in with two factors, and `permission` on `target(request, **kwargs)` if given.

    A record the user may not see answers 404, not 403: it does not confirm it exists.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not is_verified(user):
                return redirect("staff:two_factor")
            if target is None:
                if not user.has_perm(permission):
                    raise PermissionDenied
                return view(request, *args, **kwargs)
            obj = target(request, **kwargs)
            if not user.has_perm(permission, obj):
                raise Http404
            return view(request, obj, *args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator
