"""Sign-in by email through the staff email blind index."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone

from confide.people.validation import normalise_email
from confide.privacy.blind_index import IndexKind, blind_index
from confide.staff.models import StaffMember
from confide.staff.selectors import in_date_data_protection_training_sql, remember_training


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

    def get_user(self, user_id: Any) -> StaffMember | None:
        """The signed-in member, loaded once per request with whether their data-protection
        training is in date today: nearly every page asks (confide/staff/permissions.py), and
        asking in the same query saves a round trip per page."""
        today = timezone.localdate()
        member_id = f"{connection.ops.quote_name(StaffMember._meta.db_table)}.id"
        try:
            member = StaffMember.objects.annotate(
                trained_today=in_date_data_protection_training_sql(
                    member_id_column=member_id, on=today
                )
            ).get(pk=user_id)
        except StaffMember.DoesNotExist:
            return None
        if not self.user_can_authenticate(member):
            return None
        remember_training(member, on=today, trained=bool(member.trained_today))
        return member

    # Who may do what is declared as rules (confide/staff/permissions.py); nobody is granted
    # Django's model permissions, so reading those tables cost two queries a page for nothing.
    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """What django-axes records and locks on: the email's blind index, never the address."""
    email = (credentials or {}).get("username") or request.POST.get("username", "")
    try:
        return staff_email_index(str(email))
    except ValidationError:
        return "invalid-address"
