"""Factories for staff, made through the real service so contact details are sealed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone
from django_otp.oath import TOTP

from confide.staff.models import AuthenticatorApp, Course, Role, StaffMember
from confide.staff.services import create_staff_member, record_training


class StaffMemberFactory(factory.Factory[StaffMember]):
    """A saved staff member; no usable password unless one is given (hashing is slow)."""

    class Meta:
        model = StaffMember

    display_name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"staff{n}@confide.example.org")
    role = Role.CALL_HANDLER
    phone = ""
    password = None

    @classmethod
    def _create(cls, model_class: type[StaffMember], *args: Any, **kwargs: Any) -> StaffMember:
        return create_staff_member(**kwargs)


def record_in_date_training(member: StaffMember) -> None:
    """Data-protection training completed a month ago: in date, so personal data is shown."""
    record_training(
        staff_member=member,
        course=Course.DATA_PROTECTION,
        completed_on=timezone.localdate() - timedelta(days=30),
        recorded_by=None,
    )


# --- second factor ---------------------------------------------------------------------------


def confirmed_totp_device(member: StaffMember) -> AuthenticatorApp:
    """An authenticator app the staff member has already set up (a real django-otp device)."""
    return AuthenticatorApp.new_for(member, name="Authenticator app", confirmed=True)


def totp_code(device: AuthenticatorApp, *, steps_from_now: int = 0) -> str:
    """The 6-digit code the staff member's authenticator app shows now (or some steps away)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.drift += steps_from_now
    return f"{totp.token():0{device.digits}d}"
