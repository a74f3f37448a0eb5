"""Factories for staff, made through the real service so contact details are sealed."""

from __future__ import annotations

from typing import Any

import factory

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
