"""Fixtures for isolation support: a contact isolating today and their verified session."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from confide.support.tests.factories import contact_visitor, isolating_contact, verified_session
from confide.tracing.models import Exposure


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def exposure(db: Any) -> Exposure:
    return isolating_contact()


@pytest.fixture
def visitor_client(exposure: Exposure) -> Client:
    return verified_session(Client(), contact_visitor(exposure))
