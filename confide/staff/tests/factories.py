"""Factories for staff, made through the real service so contact details are sealed."""

from __future__ import annotations

from typing import Any

import factory
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from confide.staff.models import Role, StaffMember
from confide.staff.services import create_staff_member


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


# --- second factor ---------------------------------------------------------------------------


def confirmed_totp_device(member: StaffMember) -> TOTPDevice:
    """An authenticator app the staff member has already set up (a real django-otp device)."""
    return TOTPDevice.objects.create(user=member, name="Authenticator app", confirmed=True)


def totp_code(device: TOTPDevice, *, steps_from_now: int = 0) -> str:
    """The 6-digit code the staff member's authenticator app shows now (or some steps away)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.drift += steps_from_now
    return f"{totp.token():0{device.digits}d}"
