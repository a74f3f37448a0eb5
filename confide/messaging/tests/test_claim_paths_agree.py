"""The due rule is written twice: as SQL in `_claim_in_one_statement` (PostgreSQL, outside a
transaction) and through the ORM in the portable claim (SQLite, or inside a transaction). This
property keeps them one rule: on the same rows, at the same moment, both claim the same
messages, charge the same attempts and set the same leases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confide.messaging.dispatch import _claim_in_one_statement, claim_due_messages
from confide.messaging.models import Channel, Message, MessageState
from confide.messaging.tests.conftest import queue_messages

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL's claim path (SQLite has only the portable one)",
)

STATES = [
    MessageState.QUEUED,
    MessageState.FAILED_TEMPORARY,
    MessageState.SENDING,
    MessageState.SENT,
    MessageState.FAILED_PERMANENT,
]
# Offsets from "now" in seconds: due or not, lease expired or not, and exactly at the boundary.
OFFSETS = st.sampled_from([-120, -1, 0, 1, 120])

rows = st.lists(
    st.tuples(
        st.sampled_from(STATES),
        st.sampled_from([Channel.EMAIL, Channel.SMS, Channel.LETTER]),
        OFFSETS,  # next attempt at
        OFFSETS,  # lease expires at (rows sharing one are one abandoned batch)
    ),
    min_size=1,
    max_size=14,
)


def outcome() -> list[tuple[int, str, object, int]]:
    return list(
        Message.objects.order_by("pk").values_list("pk", "state", "lease_expires_at", "attempts")
    )


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=rows, limit=st.integers(1, 16))
def test_both_claim_paths_take_the_same_messages_and_charge_the_same_attempts(rows, limit):
    now = timezone.now().replace(microsecond=0)
    lease_until = now + timedelta(seconds=django_settings.CONFIDE_MESSAGE_LEASE_SECONDS)
    with transaction.atomic():
        messages = queue_messages(len(rows))
        for message, (state, channel, due_in, lease_in) in zip(messages, rows, strict=True):
            message.state = state
            message.channel = channel
            message.next_attempt_at = now + timedelta(seconds=due_in)
            message.lease_expires_at = now + timedelta(seconds=lease_in)
        Message.objects.bulk_update(
            messages, ["state", "channel", "next_attempt_at", "lease_expires_at"]
        )

        with transaction.atomic():
            assert connection.in_atomic_block  # so this is the portable path
            portable = sorted(m.pk for m in claim_due_messages(limit=limit, now=now))
            after_portable = outcome()
            transaction.set_rollback(True)
        with transaction.atomic():
            in_one = sorted(
                m.pk for m in _claim_in_one_statement(limit=limit, now=now, lease_until=lease_until)
            )
            after_in_one = outcome()
            transaction.set_rollback(True)
        transaction.set_rollback(True)

    assert in_one == portable
    assert after_in_one == after_portable
