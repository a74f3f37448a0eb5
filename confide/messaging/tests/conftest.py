"""Fixtures for the messaging tests: a real SMTP server, the guarded email backend, staff in bulk.

pytest-django (through Django's `setup_test_environment`) swaps EMAIL_BACKEND for the locmem
backend for the whole run, which would take the one-recipient guard out of every test. Tests
that exercise the guard or real delivery ask for `guarded_mail_to_sink`, which puts the
production backend back and points its SMTP transport at a sink. pytest-django's autouse
`_dj_autoclear_mailbox` only empties `mail.outbox`, which the guarded backend never fills.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from confide.cases.tests.factories import CaseFactory
from confide.messaging.models import Channel, Message
from confide.messaging.services import Addressee, build_message, current_template
from confide.messaging.template_types import TemplateKind
from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.privacy.models import DataKey
from confide.staff.models import Role, StaffMember
from confide.staff.services import build_staff_member
from confide.tracing.models import Exposure, Proximity
from confide.tracing.services import record_exposure
from tests.support.smtp_sink import SmtpSink

GUARDED_BACKEND = "confide.messaging.backends.OneRecipientEmailBackend"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_PATTERN = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

# CaseFactory's case: tested 10 January 2021 (asymptomatic), opened the next day.
CASE_TODAY = date(2021, 1, 11)
LAST_CONTACT = date(2021, 1, 9)


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    sink = SmtpSink(journal=tmp_path / "mail.jsonl").start()
    yield sink
    sink.stop()


def route_mail_to(settings: Any, sink: SmtpSink) -> None:
    settings.EMAIL_BACKEND = GUARDED_BACKEND
    settings.CONFIDE_EMAIL_TRANSPORT = "smtp"
    settings.CONFIDE_EMAIL_TRANSPORT_BACKEND = SMTP_BACKEND
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def guarded_mail_to_sink(settings: Any, smtp_sink: SmtpSink) -> SmtpSink:
    """The production email backend (one-recipient guard) in front of real SMTP to the sink."""
    route_mail_to(settings, smtp_sink)
    return smtp_sink


@pytest.fixture
def start_sink(settings: Any, tmp_path: Path) -> Iterator[Callable[..., SmtpSink]]:
    """Start a sink with the given behaviour (defer_first, reject, port) and route mail to it;
    every sink started is stopped after the test."""
    started: list[SmtpSink] = []

    def start(**behaviour: Any) -> SmtpSink:
        sink = SmtpSink(journal=tmp_path / "mail.jsonl", **behaviour).start()
        started.append(sink)
        route_mail_to(settings, sink)
        return sink

    yield start
    for sink in started:
        sink.stop()


@pytest.fixture
def sms_outbox(settings: Any, tmp_path: Path) -> Path:
    """The file SMS provider writes here instead of the data directory."""
    path = tmp_path / "sms" / "outbox.jsonl"
    settings.CONFIDE_SMS_TRANSPORT = "file"
    settings.CONFIDE_SMS_FILE_PATH = path
    return path


@pytest.fixture
def supervisor() -> StaffMember:
    from confide.staff.tests.factories import StaffMemberFactory

    return StaffMemberFactory.create(role=Role.SUPERVISOR, email="supervisor@confide.example.org")


def create_trainees(count: int, *, domain: str = "trainees.example.org") -> list[StaffMember]:
    """Staff in bulk, sealed by build_staff_member and inserted the way the demo does it."""
    members = [
        build_staff_member(
            display_name=f"Trainee{n:03d} Surname{n:03d}",
            email=f"trainee{n:03d}@{domain}",
            role=Role.CALL_HANDLER,
            password=None,
        )
        for n in range(count)
    ]
    DataKey.objects.bulk_create([m.data_key for m in members])
    StaffMember.objects.bulk_create(members)
    return members


def queue_messages(count: int, *, to: StaffMember | None = None) -> list[Message]:
    """`count` due messages, all to one staff member (claims do not care who they are for)."""
    member = to or create_trainees(1, domain="leases.example.org")[0]
    template = current_template(kind=TemplateKind.STAFF_BROADCAST, channel=Channel.EMAIL)
    addressee = Addressee.for_staff(member)
    messages = [
        build_message(
            template=template,
            to=addressee,
            recipient="trainee000@leases.example.org",
            personalisation={"first_name": "Trainee000", "group_name": "Leases"},
        )
        for _ in range(count)
    ]
    return Message.objects.bulk_create(messages)


def make_person(*, language: str = "en", **details: Any) -> Person:
    person = PersonFactory.create(details=PersonDetailsFactory.build(**details))
    if language != "en":
        person.preferred_language = language
        person.save(update_fields=["preferred_language"])
    return person


def expose(contact: Person, *, notify: bool = True) -> Exposure:
    """The contact named by a new case, recorded through the real service."""
    case = CaseFactory.create()
    return record_exposure(
        case=case,
        contact=contact,
        last_contact=LAST_CONTACT,
        proximity=Proximity.HOUSEHOLD,
        today=CASE_TODAY,
        notify=notify,
    )


@pytest.fixture
def contact_by_email() -> Callable[..., Exposure]:
    """An exposure whose contact can be reached only by email (the given address)."""

    def make(email: str = "contact@example.org", **details: Any) -> Exposure:
        contact = make_person(email=email, phone="", **details)
        return expose(contact)

    return make


def details_without_contact_routes(**overrides: Any) -> PersonDetails:
    values: dict[str, Any] = {"phone": "", "email": "", "address": "", "postcode": ""}
    values.update(overrides)
    return PersonDetailsFactory.build(**values)
