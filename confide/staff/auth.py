"""Sign-in by email through the staff email blind index."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from confide.people.validation import normalise_email
from confide.privacy.blind_index import IndexKind, blind_index
from confide.staff.models import StaffMember


def staff_email_index(email: str) -> str:
    digest = blind_index(IndexKind.STAFF_EMAIL, normalise_email(email))
    assert digest is not None
    return digest


class EmailBlindIndexBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> StaffMember | None:
        email = username or kwargs.get("email")
        if not email or password is None:
            return None
        try:
            index = staff_email_index(email)
        except ValidationError:
            return None
        try:
            member = StaffMember.objects.get(email_index=index)
        except StaffMember.DoesNotExist:
            # Hash anyway so timing does not reveal whether the address is a staff login.
            StaffMember().set_password(password)
            return None
        if member.check_password(password) and self.user_can_authenticate(member):
            return member
        return None


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """What django-axes records and locks on: the email's blind index, never the address."""
    email = (credentials or {}).get("username") or request.POST.get("username", "")
    try:
        return staff_email_index(str(email))
    except ValidationError:
        return "invalid-address"
