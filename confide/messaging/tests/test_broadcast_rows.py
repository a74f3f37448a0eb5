"""broadcast_to_staff writes its rows directly, without Message instances, for speed: they
must be the rows build_message + insert_messages would have written for the same members."""

from __future__ import annotations

import json

import pytest

from confide.messaging.models import Channel, Message
from confide.messaging.services import (
    Addressee,
    broadcast_to_staff,
    build_message,
    current_template,
    insert_messages,
)
from confide.messaging.template_types import TemplateKind
from confide.messaging.tests.conftest import create_trainees
from confide.privacy.crypto import unwrap_data_key
from confide.staff.models import StaffMember
from confide.staff.services import staff_contact_details

pytestmark = pytest.mark.django_db

# Different by construction: the key, the reference, each insert's time, and the ciphertexts
# (a fresh nonce every time; compared opened instead).
VARYING = {
    "id",
    "reference",
    "broadcast_id",
    "created_at",
    "next_attempt_at",
    "recipient_sealed",
    "personalisation_sealed",
}


def opened(message: Message) -> tuple[str | None, dict[str, str]]:
    key = unwrap_data_key(message.data_key)
    recipient = key.open("message.recipient", message.recipient_sealed)
    personalisation = key.open("message.personalisation", message.personalisation_sealed)
    return recipient, json.loads(personalisation or "{}")


def comparable(messages: list[Message]) -> list[tuple[dict[str, object], object]]:
    rows = {
        row["id"]: row for row in Message.objects.filter(pk__in=[m.pk for m in messages]).values()
    }
    return sorted(
        (({k: v for k, v in rows[m.pk].items() if k not in VARYING}, opened(m)) for m in messages),
        key=lambda pair: str(pair[0]["staff_member_id"]),
    )


def test_broadcast_rows_are_the_ones_build_message_and_insert_messages_write(supervisor):
    create_trainees(5, domain="rows.example.org")
    members = StaffMember.objects.filter(email_sealed__isnull=False).exclude(pk=supervisor.pk)
    template = current_template(kind=TemplateKind.STAFF_BROADCAST, channel=Channel.EMAIL)

    broadcast = broadcast_to_staff(
        members=members, group_name="Rows", template=template, sent_by=supervisor
    )
    ours = list(Message.objects.filter(broadcast=broadcast).select_related("data_key"))

    built = []
    for member in members.select_related("data_key"):
        to = Addressee.for_staff(member)
        contact = staff_contact_details(member, key=to.key)
        built.append(
            build_message(
                template=template,
                to=to,
                recipient=contact["email"] or "",
                personalisation={
                    "first_name": (contact["display_name"] or "").split()[0],
                    "group_name": "Rows",
                },
                already_normalised=True,
            )
        )
    insert_messages(built)
    theirs = list(
        Message.objects.filter(broadcast__isnull=True, template=template).select_related("data_key")
    )

    assert len(ours) == 5
    assert comparable(ours) == comparable(theirs)


def test_a_broadcast_seals_each_address_under_its_own_members_key(supervisor):
    trainees = create_trainees(3, domain="keys.example.org")
    template = current_template(kind=TemplateKind.STAFF_BROADCAST, channel=Channel.EMAIL)

    broadcast_to_staff(
        members=StaffMember.objects.filter(pk__in=[t.pk for t in trainees]),
        group_name="Keys",
        template=template,
        sent_by=supervisor,
    )

    for message in Message.objects.select_related("data_key", "staff_member"):
        assert message.staff_member is not None
        assert message.data_key_id == message.staff_member.data_key_id
        recipient, personalisation = opened(message)
        number = recipient.split("@")[0].removeprefix("trainee") if recipient else ""
        assert personalisation == {"first_name": f"Trainee{number}", "group_name": "Keys"}
