from __future__ import annotations

from typing import Any


def is_verified(user: Any) -> bool:
    """Signed in with a second factor (django-otp's middleware adds `is_verified`)."""
    check = getattr(user, "is_verified", None)
    return bool(check()) if callable(check) else False
