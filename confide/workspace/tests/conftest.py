"""Fixtures for the workspace pages: staff of each role signed in with both factors, and a
case waiting in the clinicians' queue (tested two days ago, so every date is real today)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from confide.cases.models import Case
from confide.cases.tests.factories import CaseFactory
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.staff.models import AuthenticatorApp, Course, Role, StaffMember, Team, Tier
from confide.staff.services import record_training
from confide.staff.tests.factories import StaffMemberFactory
from confide.workqueue.models import WorkItem
from confide.workqueue.services import enqueue_case_interview

STAFF_BACKEND = "confide.staff.auth.EmailBlindIndexBackend"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def today() -> date:
    return timezone.localdate()


StaffMaker = Callable[..., StaffMember]


@pytest.fixture
def make_staff(db: None, today: date) -> StaffMaker:
    def make(role: str, *, trained: bool = True, team: Team | None = None) -> StaffMember:
        member = StaffMemberFactory.create(role=role, team=team)
        if trained:
            record_training(
                staff_member=member,
                course=Course.DATA_PROTECTION,
                completed_on=today - timedelta(days=30),
                recorded_by=None,
            )
        return member

    return make


def sign_in(client: Client, member: StaffMember) -> Client:
    """Signed in with password and second factor, as the sign-in pages would leave it."""
    client.force_login(member, backend=STAFF_BACKEND)
    device = AuthenticatorApp.new_for(member, name="Test authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def clinician(make_staff: StaffMaker) -> StaffMember:
    return make_staff(Role.CLINICIAN)


@pytest.fixture
def clinician_client(clinician: StaffMember) -> Client:
    return sign_in(Client(), clinician)


@pytest.fixture
def case(today: date) -> Case:
    return CaseFactory.create(
        # Names that no Faker staff name or page text can contain, so "not in the page" means it.
        person=PersonFactory.create(
            details=PersonDetailsFactory.build(given_name="Marguerite", family_name="Quillfeather")
        ),
        specimen_date=today - timedelta(days=2),
        today=today,
    )


@pytest.fixture
def interview(case: Case) -> WorkItem:
    """The case waiting in the clinicians' (tier 2) queue."""
    item = enqueue_case_interview(case=case)
    assert item.tier == Tier.CLINICAL
    return item
