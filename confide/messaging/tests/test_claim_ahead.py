"""PostgreSQL's claim path: one statement, and the next batch claimed while the current one is
sent (`ClaimAhead`). The same exactly-once rules as the portable path: an abandoned claim
charges only its first unfinished message; a batch claimed ahead continues the current one
(same lease, higher pks), and yields to a retry at the head of the queue; a batch claimed
ahead and never sent goes back uncharged.

Transactional: the claiming thread has its own connection and must see committed rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from confide.messaging.dispatch import (
    ClaimAhead,
    claim_due_messages,
    dispatch_due_messages,
)
from confide.messaging.models import Message, MessageState
from confide.messaging.tests.conftest import queue_messages
from tests.support.smtp_sink import SmtpSink

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        reason="PostgreSQL's claim path (SQLite claims with the portable one)",
    ),
]


def lease() -> timedelta:
    return timedelta(seconds=django_settings.CONFIDE_MESSAGE_LEASE_SECONDS)


def claimed_ahead(current: list[Message], *, limit: int) -> list[Message]:
    ahead = ClaimAhead()
    ahead.start(current, limit=limit, now=timezone.now())
    return ahead.close()


def test_the_one_statement_claim_charges_only_the_first_unfinished_message_of_an_abandoned_claim():
    assert not connection.in_atomic_block  # so claim_due_messages takes the one-statement path
    queue_messages(3)
    now = timezone.now()
    claim_due_messages(limit=10, now=now)

    reclaimed = claim_due_messages(limit=10, now=now + lease() + timedelta(seconds=1))

    charged = {m.pk: m.attempts for m in reclaimed}
    assert sorted(charged.values()) == [0, 0, 1]
    assert charged[min(charged)] == 1
    assert all(m.data_key.wrapped_key and m.template.body for m in reclaimed)


def test_a_claim_ahead_continues_the_current_batch_under_its_lease():
    messages = queue_messages(10)
    current = claim_due_messages(limit=4, now=timezone.now())

    ahead = claimed_ahead(current, limit=4)

    assert [m.pk for m in current + ahead] == [m.pk for m in messages[:8]]
    assert {m.lease_expires_at for m in ahead} == {current[0].lease_expires_at}
    stored = Message.objects.filter(pk__in=[m.pk for m in ahead])
    assert {(m.state, m.attempts) for m in stored} == {(MessageState.SENDING, 0)}


def test_a_claim_ahead_yields_to_a_retry_at_the_head_of_the_queue():
    messages = queue_messages(10)
    later = timezone.now() + timedelta(minutes=5)
    Message.objects.filter(pk=messages[2].pk).update(next_attempt_at=later)
    current = claim_due_messages(limit=4, now=timezone.now())
    assert messages[2].pk not in [m.pk for m in current]
    # The retry falls due before everything else: it heads the due order, below the batch.
    Message.objects.filter(pk=messages[2].pk).update(
        state=MessageState.FAILED_TEMPORARY, next_attempt_at=timezone.now() - timedelta(hours=1)
    )

    assert claimed_ahead(current, limit=4) == []

    waiting = Message.objects.exclude(pk__in=[m.pk for m in current])
    assert not waiting.filter(state=MessageState.SENDING).exists()
    assert claim_due_messages(limit=1, now=timezone.now())[0].pk == messages[2].pk


def test_a_batch_claimed_ahead_but_never_sent_goes_back_uncharged(
    start_sink: Callable[..., SmtpSink],
):
    queue_messages(12)
    start_sink().stop()  # a port nobody listens on: the provider is down

    report = dispatch_due_messages(batch_size=4)

    assert (report.sent, report.retrying) == (0, 1)
    stored = list(Message.objects.order_by("pk"))
    assert not [m for m in stored if m.state == MessageState.SENDING]
    assert [m.attempts for m in stored] == [1] + [0] * 11  # only the one tried is charged
