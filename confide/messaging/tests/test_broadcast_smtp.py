"""The 2020 leak, replayed: a message to a cohort of 300 new starters, over real SMTP.

The broadcast is queued with broadcast_to_staff and sent by dispatch_due_messages through the
installed one-recipient backend and Django's SMTP backend to an aiosmtpd sink.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import override_settings

from confide.messaging.dispatch import dispatch_due_messages
from confide.messaging.models import Channel, Message, MessageState, MessageTemplate
from confide.messaging.services import (
    Addressee,
    broadcast_to_staff,
    build_message,
    current_template,
    save_template_version,
)
from confide.messaging.template_types import TemplateKind
from confide.messaging.tests.conftest import (
    EMAIL_PATTERN,
    create_trainees,
    make_person,
    route_mail_to,
)
from confide.staff.models import Role
from confide.staff.services import create_staff_member
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db

COHORT = 300
DEFAULT_TEMPLATES = importlib.import_module("confide.messaging.migrations.0003_default_templates")


def welcome_template() -> Any:
    return current_template(kind=TemplateKind.STAFF_BROADCAST, channel=Channel.EMAIL)


@dataclass(frozen=True)
class DeliveredBroadcast:
    """What one broadcast left behind: the sink's journal and the messages' rows."""

    transactions: list[dict[str, Any]]
    messages: list[dict[str, Any]]


@pytest.fixture(scope="module")
def delivered_broadcast(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DeliveredBroadcast]:
    """Queued and dispatched once for the module (300 SMTP sessions take a few seconds), inside
    a transaction that is rolled back afterwards."""
    sink = SmtpSink(journal=tmp_path_factory.mktemp("broadcast") / "mail.jsonl").start()
    try:
        with django_db_blocker.unblock(), override_settings(), transaction.atomic():
            route_mail_to(django_settings, sink)
            if not MessageTemplate.objects.exists():
                DEFAULT_TEMPLATES.seed(apps, None)
            supervisor = create_staff_member(
                display_name="Sam Supervisor",
                email="supervisor@confide.example.org",
                role=Role.SUPERVISOR,
            )
            broadcast = broadcast_to_staff(
                members=create_trainees(COHORT),
                group_name="New starters November 2026",
                template=welcome_template(),
                sent_by=supervisor,
            )
            dispatch_due_messages()
            messages: list[dict[str, Any]] = [
                dict(row)
                for row in broadcast.messages.values("reference", "state", "provider_reference")
            ]
            transaction.set_rollback(True)
        yield DeliveredBroadcast(transactions=sink.wait_for(COHORT), messages=messages)
    finally:
        sink.stop()


def trainee_addresses() -> set[str]:
    return {f"trainee{n:03d}@trainees.example.org" for n in range(COHORT)}


def test_a_broadcast_to_300_trainees_is_300_smtp_transactions_of_one_recipient_each(
    delivered_broadcast,
):
    transactions = delivered_broadcast.transactions

    assert len(transactions) == COHORT
    assert all(len(t["rcpt_tos"]) == 1 for t in transactions)
    assert {t["rcpt_tos"][0] for t in transactions} == trainee_addresses()


def test_no_broadcast_message_shows_any_other_trainees_address(delivered_broadcast):
    transactions = delivered_broadcast.transactions
    cohort = trainee_addresses()

    for received in transactions:
        [own] = received["rcpt_tos"]
        shown = {a.lower() for a in EMAIL_PATTERN.findall(received["data"])} & cohort
        assert shown == {own}


def test_no_broadcast_message_names_any_other_trainee(delivered_broadcast):
    transactions = delivered_broadcast.transactions

    for received in transactions:
        [own] = received["rcpt_tos"]
        number = own.removeprefix("trainee")[:3]
        names = set(re.findall(r"(?:Trainee|Surname)\d{3}", received["data"]))
        assert names <= {f"Trainee{number}", f"Surname{number}"}
        assert f"Trainee{number}" in names


def test_each_broadcast_message_has_its_own_message_id_from_its_reference(delivered_broadcast):
    expected = {
        f"<{m['reference']}@{django_settings.CONFIDE_MESSAGE_ID_DOMAIN}>"
        for m in delivered_broadcast.messages
    }

    received = [t["message_id"] for t in delivered_broadcast.transactions]

    assert len(set(received)) == COHORT
    assert set(received) == expected


def test_every_broadcast_message_is_recorded_as_sent_with_its_message_id(delivered_broadcast):
    assert len(delivered_broadcast.messages) == COHORT
    for message in delivered_broadcast.messages:
        assert message["state"] == MessageState.SENT
        assert message["provider_reference"] == (
            f"<{message['reference']}@{django_settings.CONFIDE_MESSAGE_ID_DOMAIN}>"
        )


# --- who a broadcast may go to ---------------------------------------------------------------


def test_a_text_broadcast_leaves_out_staff_without_a_phone_and_its_count_says_so(supervisor):
    with_phones = [
        create_staff_member(
            display_name=f"Texted Trainee{n}",
            email=f"texted{n}@trainees.example.org",
            phone=f"07700 900{n:03d}",
            role=Role.CALL_HANDLER,
        )
        for n in range(2)
    ]
    without_phone = create_trainees(1)
    template = save_template_version(
        kind=TemplateKind.STAFF_BROADCAST,
        channel=Channel.SMS,
        name="Staff text",
        subject="",
        body="((first_name)), welcome to ((group_name)).",
        by=supervisor,
    )

    broadcast = broadcast_to_staff(
        members=with_phones + without_phone, group_name="G", template=template, sent_by=supervisor
    )

    assert broadcast.recipient_count == 2
    assert set(broadcast.messages.values_list("staff_member", flat=True)) == {
        m.pk for m in with_phones
    }


def test_a_broadcast_needs_a_staff_message_template(supervisor):
    trainees = create_trainees(2)
    template = current_template(kind=TemplateKind.CONTACT_NOTIFICATION, channel=Channel.EMAIL)

    with pytest.raises(ValidationError):
        broadcast_to_staff(members=trainees, group_name="G", template=template, sent_by=supervisor)

    assert Message.objects.count() == 0


def test_a_broadcast_to_nobody_is_refused(supervisor):
    with pytest.raises(ValidationError):
        broadcast_to_staff(
            members=[], group_name="Empty", template=welcome_template(), sent_by=supervisor
        )


def test_a_staff_message_cannot_be_addressed_to_a_member_of_the_public():
    person = make_person(email="public@example.org")

    with pytest.raises(ValueError, match="staff"):
        build_message(
            template=welcome_template(),
            to=Addressee.for_person(person),
            recipient="public@example.org",
            personalisation={"first_name": "Sam", "group_name": "New starters"},
        )


def test_a_contact_notification_cannot_be_addressed_to_a_staff_member(supervisor):
    template = current_template(kind=TemplateKind.CONTACT_NOTIFICATION, channel=Channel.EMAIL)

    with pytest.raises(ValueError, match="public"):
        build_message(
            template=template,
            to=Addressee.for_staff(supervisor),
            recipient="supervisor@confide.example.org",
            personalisation={
                "first_name": "Jo",
                "isolation_ends_on": "Friday 4 December 2026",
                "support_link": "https://confide.example/support/",
            },
        )


def test_a_message_cannot_carry_personalisation_its_kind_does_not_declare(supervisor):
    with pytest.raises(ValueError, match="exactly"):
        build_message(
            template=welcome_template(),
            to=Addressee.for_staff(supervisor),
            recipient="supervisor@confide.example.org",
            personalisation={"first_name": "Jo", "group_name": "G", "cohort": "everyone@x.org"},
        )
