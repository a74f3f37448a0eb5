"""Fixtures for the data protection office: staff of each role (trained, both factors when
signed in) and people with real sealed records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from confide.staff.models import Role, StaffMember
from confide.staff.tests.factories import (
    StaffMemberFactory,
    confirmed_totp_device,
    record_in_date_training,
)

STAFF_BACKEND = "confide.staff.auth.EmailBlindIndexBackend"

StaffMaker = Callable[..., StaffMember]


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_member(role: str, *, trained: bool = True) -> StaffMember:
    member = StaffMemberFactory.create(role=role)
    if trained:
        record_in_date_training(member)
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
