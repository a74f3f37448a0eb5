"""Sending when things go wrong: a mail server that is down, defers, or refuses a mailbox.

Every test delivers through the real stack (dispatch -> DjangoEmailTransport -> the one-recipient
backend -> Django's SMTP backend) to an aiosmtpd sink; time is moved by passing `clock`.
"""

from __future__ import annotations

import smtplib
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from confide.messaging.dispatch import BACKOFF_BASE, BACKOFF_CAP, backoff, dispatch_due_messages
from confide.messaging.models import Channel, Message, MessageState
from confide.messaging.services import broadcast_to_staff, current_template
from confide.messaging.template_types import TemplateKind
from confide.messaging.tests.conftest import create_trainees, expose, make_person
from confide.messaging.transports import message_id
from confide.people.services import erase_person
from confide.tracing.models import NotificationState

pytestmark = pytest.mark.django_db

LATER = timedelta(hours=2)  # past any backoff of the first few attempts


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


@pytest.fixture
def queue_staff_messages(supervisor) -> Callable[[int], list[Message]]:
    def queue(count: int) -> list[Message]:
        broadcast = broadcast_to_staff(
            members=create_trainees(count),
            group_name="New starters",
            template=current_template(kind=TemplateKind.STAFF_BROADCAST, channel=Channel.EMAIL),
            sent_by=supervisor,
        )
        return list(broadcast.messages.order_by("pk"))

    return queue


def expected_ids(messages: list[Message]) -> set[str]:
    return {message_id(str(m.reference)) for m in messages}


def states(messages: list[Message]) -> list[str]:
    return [Message.objects.get(pk=m.pk).state for m in messages]


# --- the mail server is down -----------------------------------------------------------------


def test_while_the_mail_server_is_down_every_message_waits_for_a_later_retry(
    start_sink, queue_staff_messages
):
    start_sink().stop()  # a port nobody listens on: connection refused
    messages = queue_staff_messages(3)
    now = timezone.now()

    report = dispatch_due_messages(clock=at(now))

    assert report.sent == 0
    assert report.failed == 0
    for message in Message.objects.filter(pk__in=[m.pk for m in messages]):
        assert message.state == MessageState.FAILED_TEMPORARY
        assert message.next_attempt_at > now
        assert message.lease_expires_at is None


def test_when_the_mail_server_is_down_only_the_message_actually_tried_counts_an_attempt(
    start_sink, queue_staff_messages
):
    start_sink().stop()
    messages = queue_staff_messages(3)

    dispatch_due_messages()

    attempts = sorted(
        Message.objects.filter(pk__in=[m.pk for m in messages]).values_list(
            "attempts", "last_error"
        )
    )
    assert attempts[-1] == (1, "SMTP connection: ConnectionRefusedError")
    assert [a for a, _e in attempts[:-1]] == [0, 0]


def test_messages_held_while_the_mail_server_was_down_are_each_delivered_once_when_it_returns(
    start_sink, queue_staff_messages
):
    down = start_sink()
    down.stop()
    messages = queue_staff_messages(5)
    now = timezone.now()
    dispatch_due_messages(clock=at(now))
    dispatch_due_messages(clock=at(now))  # nothing is due yet: no extra attempts

    back = start_sink(port=down.port)
    dispatch_due_messages(clock=at(now + LATER))
    dispatch_due_messages(clock=at(now + 2 * LATER))  # nothing left to send

    delivered = Counter(t["message_id"] for t in back.wait_for(5))
    assert set(delivered) == expected_ids(messages)
    assert set(delivered.values()) == {1}
    assert states(messages) == [MessageState.SENT] * 5


# --- the mail server answers 4xx or 5xx ------------------------------------------------------


def test_a_deferred_message_is_retried_after_its_backoff_and_delivered_once(
    start_sink, queue_staff_messages
):
    sink = start_sink(defer_first=1)
    [message] = queue_staff_messages(1)
    now = timezone.now()

    dispatch_due_messages(clock=at(now))
    message.refresh_from_db()
    assert (message.state, message.last_error) == (
        MessageState.FAILED_TEMPORARY,
        "SMTP 451: deferred",
    )
    assert now + BACKOFF_BASE / 2 <= message.next_attempt_at <= now + BACKOFF_BASE
    dispatch_due_messages(clock=at(now + timedelta(seconds=1)))
    assert sink.transactions() == []

    dispatch_due_messages(clock=at(now + BACKOFF_BASE + timedelta(seconds=1)))

    assert [t["message_id"] for t in sink.wait_for(1)] == [message_id(str(message.reference))]
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == (MessageState.SENT, 2, "")


def test_a_mailbox_refused_at_rcpt_fails_the_message_permanently(start_sink, queue_staff_messages):
    sink = start_sink(reject=("trainee000@trainees.example.org",))
    [message] = queue_staff_messages(1)
    now = timezone.now()

    report = dispatch_due_messages(clock=at(now))
    dispatch_due_messages(clock=at(now + LATER))  # never tried again

    assert report.failed == 1
    message.refresh_from_db()
    assert message.state == MessageState.FAILED_PERMANENT
    assert message.last_error.startswith("SMTP 550")
    assert message.failed_at == now
    assert message.attempts == 1
    assert sink.transactions() == []


def test_a_contact_notification_refused_by_the_mail_server_shows_as_failed_on_the_exposure(
    start_sink, contact_by_email
):
    start_sink(reject=("refused@example.org",))
    exposure = contact_by_email(email="refused@example.org")

    dispatch_due_messages()

    exposure.refresh_from_db()
    assert exposure.notification_state == NotificationState.FAILED


def test_a_contact_notification_still_being_retried_stays_queued_on_the_exposure(
    start_sink, contact_by_email
):
    start_sink(defer_first=1)
    exposure = contact_by_email()

    dispatch_due_messages()

    exposure.refresh_from_db()
    assert exposure.notification_state == NotificationState.QUEUED


def test_a_message_deferred_on_its_last_allowed_attempt_fails_permanently(
    settings, start_sink, queue_staff_messages
):
    settings.CONFIDE_MESSAGE_MAX_ATTEMPTS = 3
    sink = start_sink(defer_first=10)
    [message] = queue_staff_messages(1)
    now = timezone.now()

    for attempt in range(4):
        dispatch_due_messages(clock=at(now + attempt * LATER))

    message.refresh_from_db()
    assert message.state == MessageState.FAILED_PERMANENT
    assert message.attempts == 3
    assert message.last_error == "SMTP 451: deferred"
    assert sink.transactions() == []


def test_a_message_to_a_contact_erased_while_it_waited_does_not_stop_the_others(
    start_sink, contact_by_email
):
    sink = start_sink()
    erased = contact_by_email(email="erased@example.org")
    kept = contact_by_email(email="kept@example.org")
    erase_person(person=erased.contact)

    dispatch_due_messages()

    assert [t["rcpt_tos"] for t in sink.wait_for(1)] == [["kept@example.org"]]
    assert erased.notification_message is not None
    erased.notification_message.refresh_from_db()
    # Finished either way (cancelled is kinder: a failure asks a call handler to phone them).
    assert erased.notification_message.state in (
        MessageState.CANCELLED,
        MessageState.FAILED_PERMANENT,
    )
    assert kept.notification_message is not None
    assert Message.objects.get(pk=kept.notification_message.pk).state == MessageState.SENT


def test_a_batch_of_emails_goes_over_one_smtp_connection(
    start_sink, queue_staff_messages, monkeypatch
):
    # A spy on the standard library, to count sessions the sink's journal cannot show.
    connections: list[object] = []
    connect = smtplib.SMTP.connect

    def counting_connect(self: smtplib.SMTP, *args: object, **kwargs: object) -> object:
        connections.append(self)
        return connect(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(smtplib.SMTP, "connect", counting_connect)
    sink = start_sink()
    queue_staff_messages(10)

    dispatch_due_messages()

    assert len(sink.wait_for(10)) == 10
    assert len(connections) == 1


# --- backoff ---------------------------------------------------------------------------------


def ceiling(attempts: int) -> timedelta:
    # In whole seconds (Python ints do not overflow), then capped.
    seconds = int(BACKOFF_BASE.total_seconds()) * 2 ** max(attempts - 1, 0)
    return min(BACKOFF_CAP, timedelta(seconds=min(seconds, int(BACKOFF_CAP.total_seconds()))))


@given(attempts=st.integers(min_value=0, max_value=30))
def test_backoff_lies_between_half_and_all_of_the_capped_exponential(attempts):
    wait = backoff(attempts)

    assert ceiling(attempts) / 2 <= wait <= ceiling(attempts)


def test_backoff_grows_with_each_attempt_until_the_cap():
    for attempts in range(1, 7):  # 30 s doubling reaches the hour cap at the 8th attempt
        longest_before = max(backoff(attempts) for _ in range(30))
        shortest_after = min(backoff(attempts + 1) for _ in range(30))
        assert shortest_after >= longest_before


def test_backoff_is_jittered():
    waits = {backoff(4) for _ in range(50)}

    assert len(waits) > 40


def test_backoff_after_very_many_attempts_is_still_between_half_an_hour_and_an_hour():
    # CONFIDE_MESSAGE_MAX_ATTEMPTS comes from the environment; 50 is a plausible setting.
    for attempts in (40, 50, 100, 1000):
        assert timedelta(minutes=30) <= backoff(attempts) <= timedelta(hours=1)


def test_a_contact_reached_by_post_is_never_put_through_a_transport(start_sink):
    sink = start_sink()
    exposure = expose(make_person(email="", phone=""))

    report = dispatch_due_messages()

    assert report.sent == report.failed == report.retrying == 0
    assert exposure.notification_message is not None
    exposure.notification_message.refresh_from_db()
    assert exposure.notification_message.state == MessageState.QUEUED
    assert sink.transactions() == []
