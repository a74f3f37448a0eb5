"""Fixtures for the data protection office: staff of each role (trained, both factors when
signed in) and people with real sealed records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from confide.staff.models import Course, Role, StaffMember
from confide.staff.services import record_training
from confide.staff.tests.factories import StaffMemberFactory, confirmed_totp_device

STAFF_BACKEND = "confide.staff.auth.EmailBlindIndexBackend"

StaffMaker = Callable[..., StaffMember]


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_member(role: str, *, trained: bool = True) -> StaffMember:
    member = StaffMemberFactory.create(role=role)
    if trained:
        record_training(
            staff_member=member,
            course=Course.DATA_PROTECTION,
            completed_on=timezone.localdate() - timedelta(days=30),
            recorded_by=None,
        )
    return member


@pytest.fixture
def make_staff(db: None) -> StaffMaker:
    return make_member


@pytest.fixture
def dpo(make_staff: StaffMaker) -> StaffMember:
    return make_staff(Role.DATA_PROTECTION_OFFICER)


@pytest.fixture
def administrator(make_staff: StaffMaker) -> StaffMember:
    return make_staff(Role.ADMINISTRATOR)


@pytest.fixture
def supervisor(make_staff: StaffMaker) -> StaffMember:
    return make_staff(Role.SUPERVISOR)


def sign_in(member: StaffMember) -> Client:
    """A client signed in with password and second factor, as the sign-in pages leave it."""
    client = Client()
    client.force_login(member, backend=STAFF_BACKEND)
    device = confirmed_totp_device(member)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
