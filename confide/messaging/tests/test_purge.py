"""Purging message contents after retention: the delivery record stays, the personal data goes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from confide.messaging.models import Channel, Message, MessageState
from confide.messaging.services import (
    Addressee,
    build_message,
    current_template,
    purge_message_contents,
)
from confide.messaging.tasks import purge_messages
from confide.messaging.template_types import TemplateKind
from confide.messaging.tests.conftest import create_trainees

pytestmark = pytest.mark.django_db

FINISHED = [
    MessageState.SENT,
    MessageState.DELIVERED,
    MessageState.FAILED_PERMANENT,
    MessageState.CANCELLED,
]
UNFINISHED = [MessageState.QUEUED, MessageState.SENDING, MessageState.FAILED_TEMPORARY]


def message(*, state: str, age: timedelta, now: datetime) -> Message:
    """A message in `state`, created `age` before `now`, with a full delivery record."""
    member = create_trainees(1, domain=f"purge{Message.objects.count()}.example.org")[0]
    built = build_message(
        template=current_template(kind=TemplateKind.STAFF_BROADCAST, channel=Channel.EMAIL),
        to=Addressee.for_staff(member),
        recipient="trainee000@purge.example.org",
        personalisation={"first_name": "Trainee000", "group_name": "Purge"},
    )
    built.save()
    created = now - age
    Message.objects.filter(pk=built.pk).update(
        state=state,
        created_at=created,
        sent_at=created + timedelta(minutes=1),
        provider_reference=f"<{built.reference}@confide.invalid>",
        attempts=1,
    )
    built.refresh_from_db()
    return built


@pytest.fixture
def now() -> datetime:
    return timezone.now()


@pytest.mark.parametrize("state", FINISHED)
def test_purge_clears_the_recipient_and_personalisation_of_a_finished_message_past_retention(
    state, now
):
    old = message(state=state, age=timedelta(days=8), now=now)

    purged = purge_message_contents(now=now)

    assert purged == 1
    old.refresh_from_db()
    assert old.recipient_sealed is None
    assert old.personalisation_sealed is None
    assert old.purged_at == now


@pytest.mark.parametrize("state", UNFINISHED)
def test_purge_leaves_a_message_still_to_be_sent_however_old(state, now):
    waiting = message(state=state, age=timedelta(days=60), now=now)

    assert purge_message_contents(now=now) == 0

    waiting.refresh_from_db()
    assert waiting.recipient_sealed is not None
    assert waiting.personalisation_sealed is not None
    assert waiting.purged_at is None


def test_purge_leaves_a_finished_message_within_retention(now):
    recent = message(state=MessageState.SENT, age=timedelta(days=6, hours=23), now=now)

    assert purge_message_contents(now=now) == 0

    recent.refresh_from_db()
    assert recent.recipient_sealed is not None


def test_purge_keeps_the_delivery_record(now):
    old = message(state=MessageState.SENT, age=timedelta(days=8), now=now)
    before = Message.objects.filter(pk=old.pk).values().get()

    purge_message_contents(now=now)

    after = Message.objects.filter(pk=old.pk).values().get()
    for field in (
        "state",
        "reference",
        "provider_reference",
        "template_id",
        "attempts",
        "created_at",
        "sent_at",
        "staff_member_id",
        "channel",
    ):
        assert after[field] == before[field], field


def test_purge_follows_the_retention_setting(settings, now):
    settings.CONFIDE_MESSAGE_RETENTION_DAYS = 30
    kept = message(state=MessageState.SENT, age=timedelta(days=29), now=now)
    dropped = message(state=MessageState.SENT, age=timedelta(days=31), now=now)

    purge_message_contents(now=now)

    assert Message.objects.get(pk=kept.pk).recipient_sealed is not None
    assert Message.objects.get(pk=dropped.pk).recipient_sealed is None


def test_purging_twice_purges_nothing_the_second_time(now):
    message(state=MessageState.DELIVERED, age=timedelta(days=8), now=now)
    purge_message_contents(now=now)
    first_purge = Message.objects.get().purged_at

    assert purge_message_contents(now=now + timedelta(days=1)) == 0
    assert Message.objects.get().purged_at == first_purge


def test_the_purge_task_purges_past_retention():
    message(state=MessageState.SENT, age=timedelta(days=8), now=timezone.now())

    assert purge_messages.call() == 1
