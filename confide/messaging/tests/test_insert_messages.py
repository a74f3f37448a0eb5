"""insert_messages writes rows itself (COPY / executemany) for speed: they must be the rows
Django's bulk_create would have written from the same unsaved messages."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.utils import timezone

from confide.messaging.models import Channel, Message, MessageState
from confide.messaging.services import Addressee, build_message, current_template, insert_messages
from confide.messaging.template_types import TemplateKind
from confide.messaging.tests.conftest import create_trainees, make_person

pytestmark = pytest.mark.django_db

# Columns that differ by construction: the key, and the insertion time of each statement.
VARYING = {"id", "created_at"}


def unsaved_messages() -> list[Message]:
    member = create_trainees(1, domain="insert.example.org")[0]
    staff_template = current_template(kind=TemplateKind.STAFF_BROADCAST, channel=Channel.EMAIL)
    to_member = Addressee.for_staff(member)
    messages = [
        build_message(
            template=staff_template,
            to=to_member,
            recipient="trainee000@insert.example.org",
            personalisation={"first_name": "Trainee", "group_name": f"Group {n}"},
        )
        for n in range(3)
    ]
    person = make_person(phone="07700900123", given_name="Ffion")
    sms_template = current_template(kind=TemplateKind.CONTACT_NOTIFICATION, channel=Channel.SMS)
    contact = build_message(
        template=sms_template,
        to=Addressee.for_person(person),
        recipient="07700900123",
        personalisation={
            "first_name": "Ffion",
            "isolation_ends_on": "3 June 2020",
            "support_link": "https://example.org/support",
        },
    )
    # Every kind of column with a value: a lease, attempts, an error, a provider reference.
    contact.state = MessageState.FAILED_TEMPORARY
    contact.attempts = 2
    contact.lease_expires_at = timezone.now() + timedelta(minutes=5)
    contact.last_error = "SMTP 451: deferred"
    contact.provider_reference = "provider-ref"
    return [*messages, contact]


def stored(references: list[object]) -> list[dict[str, object]]:
    rows = Message.objects.filter(reference__in=references).order_by("reference").values()
    return [{k: v for k, v in row.items() if k not in VARYING} for row in rows]


def test_rows_are_the_ones_bulk_create_writes() -> None:
    ours = unsaved_messages()
    theirs = [copy.copy(message) for message in ours]
    insert_messages(ours)
    ours_stored = stored([m.reference for m in ours])
    Message.objects.filter(reference__in=[m.reference for m in ours]).delete()

    Message.objects.bulk_create(theirs)

    assert len(ours_stored) == len(ours)
    assert ours_stored == stored([m.reference for m in theirs])
    assert all(row["created_at"] is not None for row in Message.objects.values("created_at"))
