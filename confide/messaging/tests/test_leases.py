"""Claims and leases: a message is sent by one dispatcher at a time, and again only after its
lease runs out — with the same Message-ID, so the receiver can drop the copy."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confide.messaging.dispatch import claim_due_messages, dispatch_due_messages, envelope_for
from confide.messaging.models import Channel, Message, MessageState
from confide.messaging.tests.conftest import queue_messages
from confide.messaging.transports import message_id, transport_for


def lease() -> timedelta:
    return timedelta(seconds=django_settings.CONFIDE_MESSAGE_LEASE_SECONDS)


def pks(messages: list[Message]) -> list[int]:
    return [m.pk for m in messages]


# --- one process ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_message_whose_lease_expired_is_sent_again_with_the_same_message_id(
    guarded_mail_to_sink,
):
    [message] = queue_messages(1)
    now = timezone.now()
    # A worker claims it, hands it to the mail server, and dies before recording the outcome.
    [claimed] = claim_due_messages(limit=10, now=now)
    with transport_for(Channel.EMAIL) as transport:
        transport.send(envelope_for(claimed))

    report = dispatch_due_messages(clock=lambda: now + lease() + timedelta(seconds=1))

    assert report.sent == 1
    received = [t["message_id"] for t in guarded_mail_to_sink.wait_for(2)]
    assert received == [message_id(str(message.reference))] * 2
    message.refresh_from_db()
    assert (message.state, message.attempts) == (MessageState.SENT, 2)


@pytest.mark.django_db
def test_a_message_under_an_unexpired_lease_is_not_claimed_by_a_second_dispatcher(
    guarded_mail_to_sink,
):
    queue_messages(1)
    now = timezone.now()
    claim_due_messages(limit=10, now=now)

    report = dispatch_due_messages(clock=lambda: now + lease() - timedelta(seconds=1))

    assert report.sent == 0
    assert guarded_mail_to_sink.transactions() == []


@pytest.mark.django_db
def test_a_claimed_message_is_claimed_again_only_once_its_lease_has_run_out():
    [message] = queue_messages(1)
    now = timezone.now()
    claim_due_messages(limit=10, now=now)

    at_expiry = claim_due_messages(limit=10, now=now + lease())
    after_expiry = claim_due_messages(limit=10, now=now + lease() + timedelta(microseconds=1))

    assert at_expiry == []
    assert pks(after_expiry) == [message.pk]
    message.refresh_from_db()
    assert message.attempts == 1  # the abandoned claim's first message may have been tried


@pytest.mark.django_db
def test_a_claim_marks_messages_sending_under_a_lease_and_charges_no_attempt_yet():
    queue_messages(2)
    now = timezone.now()

    claimed = claim_due_messages(limit=10, now=now)

    for message in Message.objects.filter(pk__in=pks(claimed)):
        assert message.state == MessageState.SENDING
        assert message.lease_expires_at == now + lease()
        assert message.attempts == 0  # charged when an outcome is recorded


@pytest.mark.django_db
def test_a_message_not_yet_due_is_not_claimed():
    [message] = queue_messages(1)
    Message.objects.filter(pk=message.pk).update(
        state=MessageState.FAILED_TEMPORARY, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )

    assert claim_due_messages(limit=10, now=timezone.now()) == []


@contextmanager
def rolled_back() -> Iterator[None]:
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(count=st.integers(1, 30), limits=st.lists(st.integers(1, 12), min_size=1, max_size=8))
def test_consecutive_claims_never_return_a_message_that_is_still_leased(count, limits):
    with rolled_back():
        queue_messages(count)
        now = timezone.now()
        seen: set[int] = set()

        for limit in limits:
            claimed = set(pks(claim_due_messages(limit=limit, now=now)))
            assert not claimed & seen
            assert len(claimed) == min(limit, count - len(seen))
            seen |= claimed


# --- several dispatchers at once ---------------------------------------------------------------


def claim_until_empty(now: datetime, start: threading.Barrier, claims: list[int]) -> None:
    try:
        start.wait()
        while batch := claim_due_messages(limit=25, now=now):
            claims.extend(pks(batch))
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_four_dispatchers_claiming_at_once_claim_each_message_exactly_once():
    messages = queue_messages(100)
    now = timezone.now()
    start = threading.Barrier(4)
    claims: list[list[int]] = [[] for _ in range(4)]
    threads = [
        threading.Thread(target=claim_until_empty, args=(now, start, claims[n])) for n in range(4)
    ]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    counted = Counter(pk for claimed in claims for pk in claimed)
    assert set(counted) == set(pks(messages))
    assert set(counted.values()) == {1}
    assert Message.objects.filter(state=MessageState.SENDING, attempts=0).count() == 100


@pytest.mark.django_db
def test_an_abandoned_claim_charges_only_its_first_unfinished_message():
    queue_messages(3)
    now = timezone.now()
    claim_due_messages(limit=10, now=now)

    reclaimed = claim_due_messages(limit=10, now=now + lease() + timedelta(seconds=1))

    charged = {m.pk: m.attempts for m in Message.objects.filter(pk__in=pks(reclaimed))}
    assert sorted(charged.values()) == [0, 0, 1]
    assert charged[min(charged)] == 1
