"""Outcomes sent to PostgreSQL without waiting and taken while the next message is addressed
(`OutcomeWriter`, PostgreSQL's default): the same records as the inline path, and, like it,
never more than one message in doubt — handed to the SMTP server with its outcome not yet
committed.

Transactional tests: each outcome commits on its own, and the test reads what was committed.
The inline path runs on both databases, the overlapped one on PostgreSQL, where it is used.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from confide.messaging.dispatch import dispatch_due_messages, overlaps_outcomes
from confide.messaging.models import Channel, Message, MessageState
from confide.messaging.services import broadcast_to_staff, current_template
from confide.messaging.template_types import TemplateKind
from confide.messaging.tests.conftest import create_trainees
from confide.staff.models import StaffMember
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRESQL = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
BOTH_PATHS = pytest.mark.parametrize(
    "overlap",
    [pytest.param(True, id="overlapped"), pytest.param(False, id="inline")][not POSTGRESQL :],
)


def queue_broadcast(supervisor: StaffMember, count: int) -> list[Message]:
    broadcast = broadcast_to_staff(
        members=create_trainees(count),
        group_name="New starters",
        template=current_template(kind=TemplateKind.STAFF_BROADCAST, channel=Channel.EMAIL),
        sent_by=supervisor,
    )
    return list(broadcast.messages.order_by("pk"))


def test_outcomes_overlap_by_default_only_on_postgresql_outside_a_transaction() -> None:
    assert overlaps_outcomes() == (connection.vendor == "postgresql")
    with transaction.atomic():
        assert not overlaps_outcomes()


def test_outcomes_cannot_be_overlapped_inside_a_callers_transaction() -> None:
    with transaction.atomic(), pytest.raises(ValueError, match="inside a transaction"):
        dispatch_due_messages(overlap_outcomes=True)


def test_outcomes_are_overlapped_only_on_postgresql() -> None:
    if POSTGRESQL:
        assert dispatch_due_messages(overlap_outcomes=True).sent == 0  # nothing queued
    else:
        with pytest.raises(ValueError, match="only on PostgreSQL"):
            dispatch_due_messages(overlap_outcomes=True)


@BOTH_PATHS
def test_every_outcome_is_recorded_as_the_server_answered(
    overlap: bool, supervisor: StaffMember, start_sink: Callable[..., SmtpSink]
) -> None:
    messages = queue_broadcast(supervisor, 12)
    refused = "trainee004@trainees.example.org"
    sink = start_sink(defer_first=1, reject=(refused,))

    report = dispatch_due_messages(overlap_outcomes=overlap)

    by_pk = {m.pk: m for m in Message.objects.all()}
    assert (report.sent, report.retrying, report.failed) == (10, 1, 1)
    assert by_pk[messages[0].pk].state == MessageState.FAILED_TEMPORARY  # the deferred one
    assert by_pk[messages[0].pk].last_error == "SMTP 451: deferred"
    assert by_pk[messages[4].pk].state == MessageState.FAILED_PERMANENT
    sent = [m for m in by_pk.values() if m.state == MessageState.SENT]
    assert len(sent) == len(sink.transactions()) == 10
    assert all(m.attempts == 1 and m.provider_reference and m.sent_at for m in sent)
    assert not Message.objects.filter(lease_expires_at__isnull=False).exists()


@BOTH_PATHS
def test_at_most_one_message_is_ever_in_doubt(
    overlap: bool, supervisor: StaffMember, start_sink: Callable[..., SmtpSink]
) -> None:
    """Dispatch reads the clock just before and just after each send: at those moments,
    compare what the server has accepted with the outcomes committed so far."""
    queue_broadcast(supervisor, 30)
    sink = start_sink()
    in_doubt: list[int] = []

    def observing_clock() -> datetime:
        accepted = len(sink.transactions())
        recorded = Message.objects.filter(state=MessageState.SENT).count()
        in_doubt.append(accepted - recorded)
        return timezone.now()

    # Batches of 4: on PostgreSQL each next batch is claimed while the current one is sent.
    report = dispatch_due_messages(overlap_outcomes=overlap, clock=observing_clock, batch_size=4)

    assert report.sent == 30
    assert min(in_doubt) >= 0
    assert max(in_doubt) <= 1
