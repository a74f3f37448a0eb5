"""Sending queued messages: claim a batch, record intent, send, record the outcome.

Exactly-once as far as it can be had: a claim marks messages SENDING with a lease and commits
*before* anything is sent; each outcome commits right after the provider answers. A worker
killed mid-batch leaves in doubt only the message in flight — handed to the provider with
its outcome not yet committed. On PostgreSQL the outcome is committed on a second connection
while the next message is being prepared and addressed (`OutcomeWriter`), but the next message
is handed over (SMTP DATA) only once that commit is done, so there too at most one message is
ever in doubt. When the lease expires it is sent again with the same Message-ID / reference,
so the receiver can drop the copy. Messages it had claimed but not started are sent
once, after the lease.
"""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from confide.messaging.models import (
    DISPATCHABLE_STATES,
    Channel,
    Message,
    MessageState,
    MessageTemplate,
)
from confide.messaging.signals import message_state_changed
from confide.messaging.templating import render
from confide.messaging.transports import (
    Envelope,
    PermanentFailure,
    RateLimiter,
    TemporaryFailure,
    Transport,
    transport_for,
)
from confide.privacy.crypto import TamperedCiphertext, unwrap_data_key
from confide.privacy.keys import DataKeyDestroyed

logger = logging.getLogger("confide.messaging")

SENDABLE_CHANNELS = (Channel.EMAIL, Channel.SMS)  # letters go to the print run instead
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
_rng = random.SystemRandom()


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with 'equal jitter': half fixed, half random, capped at an hour."""
    exponent = min(max(attempts - 1, 0), 16)  # 2**16 * 30 s is far past the cap already
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2**exponent)
    half = ceiling / 2
    return half + half * _rng.random()


def claim_due_messages(*, limit: int, now: datetime) -> list[Message]:
    """Mark up to `limit` due messages SENDING under a lease and commit: the intent to send.

    `attempts` counts real attempts: it grows when an outcome is recorded. A batch whose lease
    expired was abandoned by a worker that died; batches are sent in pk order and each outcome
    commits, so only its lowest-pk message still SENDING can have been tried — that one alone is
    charged an attempt here, so a message that kills its worker every time ends as failed. (With
    overlapped outcomes the next one may have been tried too; it is not charged, so attempts
    can undercount by one after a kill, never overcount a message that was not tried.)
    """
    due = Q(state__in=DISPATCHABLE_STATES, next_attempt_at__lte=now) | Q(
        state=MessageState.SENDING, lease_expires_at__lt=now
    )
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(due, channel__in=SENDABLE_CHANNELS)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", "state", "lease_expires_at", "channel")[:limit]
        )
        if not rows:
            return []
        ids = [pk for pk, _state, _lease, _channel in rows]
        abandoned: dict[tuple[object, str], int] = {}
        for pk, state, lease, channel in rows:
            if state == MessageState.SENDING:
                key = (lease, channel)
                abandoned[key] = min(pk, abandoned.get(key, pk))
        lease_until = now + timedelta(seconds=settings.CONFIDE_MESSAGE_LEASE_SECONDS)
        Message.objects.filter(pk__in=ids).update(
            state=MessageState.SENDING, lease_expires_at=lease_until
        )
        if abandoned:
            Message.objects.filter(pk__in=abandoned.values()).update(attempts=F("attempts") + 1)
    return _messages_to_send(ids)


# What sending reads of a message: the rest (timestamps, errors) is not needed, and
# parsing five timestamps per row is a measurable part of a send.
_SENDING_FIELDS = (
    "reference",
    "channel",
    "template",
    "person",
    "staff_member",
    "data_key",
    "recipient_sealed",
    "personalisation_sealed",
    "state",
    "attempts",
    "lease_expires_at",
)


def _messages_to_send(ids: list[int]) -> list[Message]:
    """The claimed messages in pk order with their data keys, and each template fetched once
    per batch rather than once per message (a batch mostly shares one or two versions; a
    version is never edited, so sharing the instance is safe)."""
    messages = list(
        Message.objects.filter(pk__in=ids)
        .select_related("data_key")
        .only(*_SENDING_FIELDS)
        .order_by("pk")
    )
    templates = MessageTemplate.objects.in_bulk({m.template_id for m in messages})
    for message in messages:
        message.template = templates[message.template_id]
    return messages


class Undeliverable(Exception):
    """The message can never be sent (its recipient was erased); it is cancelled, not failed."""


def envelope_for(message: Message) -> Envelope:
    try:
        key = unwrap_data_key(message.data_key)
        recipient = key.open("message.recipient", message.recipient_sealed)
        sealed_values = key.open("message.personalisation", message.personalisation_sealed)
    except (DataKeyDestroyed, TamperedCiphertext) as exc:
        raise Undeliverable("the recipient's data was erased or cannot be read") from exc
    values = json.loads(sealed_values or "{}")
    if recipient is None:
        raise Undeliverable("the recipient was purged before sending")
    template = message.template
    rendered = render(
        kind=template.kind, subject=template.subject, body=template.body, values=values
    )
    return Envelope(
        channel=message.channel,
        recipient=recipient,
        subject=rendered.subject,
        body=rendered.body,
        reference=str(message.reference),
    )


_OUTCOME_COLUMNS = frozenset(
    {"sent_at", "failed_at", "next_attempt_at", "provider_reference", "last_error"}
)


def _finish(message: Message, state: str, *, attempted: bool = True, **fields: object) -> None:
    """Record an outcome, only if this worker still holds the message: still SENDING under the
    lease this worker set (a worker that overran its lease must not overwrite another's).

    One hand-written UPDATE: this runs once per message sent, and the ORM's query building
    cost more than the statement itself.
    """
    assert set(fields) <= _OUTCOME_COLUMNS, f"not an outcome column: {set(fields)}"
    ops = connection.ops
    values = [
        ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in fields.values()
    ]
    assignments = "".join(f", {ops.quote_name(name)} = %s" for name in fields)
    table = ops.quote_name(Message._meta.db_table)
    sql = (
        f"UPDATE {table} SET state = %s, lease_expires_at = NULL, "  # noqa: S608 — names are ours
        f"attempts = attempts + %s{assignments} "
        "WHERE id = %s AND state = %s AND lease_expires_at = %s"
    )
    params: list[Any] = [
        state,
        1 if attempted else 0,
        *values,
        message.pk,
        MessageState.SENDING,
        ops.adapt_datetimefield_value(message.lease_expires_at),
    ]
    with connection.cursor() as cursor:  # one statement, committed on its own (autocommit)
        cursor.execute(sql, params)
        updated = cursor.rowcount
    if updated:
        message_state_changed.send(
            sender=Message, message_id=message.pk, state=state, person_id=message.person_id
        )


Recorder = Callable[..., None]  # `_finish`'s signature: record one outcome


def _nothing() -> None:
    return None


def _record_temporary(
    record: Recorder, message: Message, failure: TemporaryFailure, now: datetime
) -> str:
    attempts = message.attempts + 1
    if attempts >= settings.CONFIDE_MESSAGE_MAX_ATTEMPTS:
        record(message, MessageState.FAILED_PERMANENT, failed_at=now, last_error=failure.reason)
        return MessageState.FAILED_PERMANENT
    record(
        message,
        MessageState.FAILED_TEMPORARY,
        next_attempt_at=now + backoff(attempts),
        last_error=failure.reason,
    )
    return MessageState.FAILED_TEMPORARY


class OutcomeWriter:
    """Commits outcomes on a second database connection, overlapped with the next send.

    On PostgreSQL each outcome is a round trip to the server in series with the SMTP exchange;
    here a writer thread commits outcome N while message N+1 is rendered and its envelope
    (MAIL, RCPT) is sent. The transport calls `wait` just before handing N+1 over (DATA), so at
    any instant at most one message is with the provider without a committed outcome — the
    same rule as the inline path. The thread's own connection commits each outcome on its own
    (autocommit), like the inline path.
    """

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="confide-outcomes")
        self._pending: Future[None] | None = self._thread.submit(_commit_asynchronously)

    def record(self, message: Message, state: str, **fields: Any) -> None:
        self.wait()
        self._pending = self._thread.submit(_finish, message, state, **fields)

    def wait(self) -> None:
        """Block until every outcome handed over is committed (re-raising a failure)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._thread.submit(_close_connection).result()
            self._thread.shutdown()


def _commit_asynchronously() -> None:
    """See `_outcomes_committed_asynchronously`; the writer's connection is closed after use."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")


def _close_connection() -> None:
    connection.close()  # looked up here, in the writer's thread: its own connection


def overlaps_outcomes() -> bool:
    """Whether outcomes are committed on a second connection while the next message is sent.

    On PostgreSQL, outside a transaction: there the outcome is a round trip to another
    process, worth overlapping. SQLite writes in-process in tens of microseconds, and one
    writer at a time suits it; inside a caller's transaction outcomes must stay on its
    connection.
    """
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _put_back(messages: list[Message], *, after: timedelta, clock: Callable[[], datetime]) -> None:
    """Return claimed but untried messages to the queue, uncharged."""
    for waiting in messages:
        Message.objects.filter(
            pk=waiting.pk, state=MessageState.SENDING, lease_expires_at=waiting.lease_expires_at
        ).update(
            state=MessageState.FAILED_TEMPORARY,
            lease_expires_at=None,
            next_attempt_at=clock() + after,
        )


def _lease_running_out(message: Message, now: datetime) -> bool:
    """Stop before a send could outlast the lease and race the worker that takes over."""
    lease = settings.CONFIDE_MESSAGE_LEASE_SECONDS
    margin = timedelta(seconds=min(settings.EMAIL_TIMEOUT, lease / 4))
    return message.lease_expires_at is None or now >= message.lease_expires_at - margin


def _send_with(
    transport: Transport,
    messages: list[Message],
    report: DispatchReport,
    limiter: RateLimiter,
    clock: Callable[[], datetime],
    record: Recorder = _finish,
    before_handover: Callable[[], None] = _nothing,
) -> bool:
    """Send a claimed batch over one transport; False if the provider could not be reached.

    `before_handover` runs just before each message can reach the provider (see
    `OutcomeWriter.wait`)."""
    for index, message in enumerate(messages):
        if message.attempts >= settings.CONFIDE_MESSAGE_MAX_ATTEMPTS:
            # Charged again and again for abandoned claims: a worker died on it each time.
            record(
                message,
                MessageState.FAILED_PERMANENT,
                attempted=False,
                failed_at=clock(),
                last_error="too many attempts",
            )
            report.failed += 1
            continue
        if _lease_running_out(message, clock()):
            _put_back(messages[index:], after=timedelta(0), clock=clock)
            return True
        try:
            envelope = envelope_for(message)
            limiter.wait()
            provider_reference = transport.send(envelope, before_handover=before_handover)
        except Undeliverable as reason:
            record(message, MessageState.CANCELLED, attempted=False, last_error=str(reason)[:200])
            report.failed += 1
        except PermanentFailure as failure:
            record(
                message, MessageState.FAILED_PERMANENT, failed_at=clock(), last_error=failure.reason
            )
            report.failed += 1
        except TemporaryFailure as failure:
            outcome = _record_temporary(record, message, failure, clock())
            report.failed += outcome == MessageState.FAILED_PERMANENT
            report.retrying += outcome == MessageState.FAILED_TEMPORARY
            if failure.connection:
                # The provider is down: put the rest back with the same backoff rather than
                # hammering it message by message, and tell the caller to stop this pass.
                _put_back(messages[index + 1 :], after=backoff(1), clock=clock)
                return False
        except Exception as exc:  # one bad message must not stall the batch behind it
            logger.exception("Unexpected error sending message %s", message.reference)
            outcome = _record_temporary(
                record, message, TemporaryFailure(type(exc).__name__), clock()
            )
            report.retrying += outcome == MessageState.FAILED_TEMPORARY
            report.failed += outcome == MessageState.FAILED_PERMANENT
        else:
            record(
                message,
                MessageState.SENT,
                sent_at=clock(),
                provider_reference=provider_reference[:200],
                last_error="",
            )
            report.sent += 1
    return True


_limiters: dict[str, RateLimiter] = {}


def _limiter(channel: str) -> RateLimiter:
    if channel not in _limiters:
        _limiters[channel] = RateLimiter(settings.CONFIDE_MESSAGE_RATE_PER_SECOND.get(channel, 0))
    return _limiters[channel]


def dispatch_due_messages(
    *,
    batch_size: int | None = None,
    max_batches: int | None = None,
    clock: Callable[[], datetime] = timezone.now,
    overlap_outcomes: bool | None = None,
) -> DispatchReport:
    """Send due messages until none are left (or `max_batches`), one connection per channel.

    `overlap_outcomes` chooses the `OutcomeWriter` (default: `overlaps_outcomes()`).
    """
    report = DispatchReport()
    if overlap_outcomes is None:
        overlap_outcomes = overlaps_outcomes()
    elif overlap_outcomes and connection.in_atomic_block:
        # The writer's own connection could not see the caller's uncommitted claims.
        raise ValueError("outcomes cannot be overlapped inside a transaction")
    writer = OutcomeWriter() if overlap_outcomes else None
    try:
        with _outcomes_committed_asynchronously():
            _dispatch_batches(
                report,
                batch_size=batch_size,
                max_batches=max_batches,
                clock=clock,
                writer=writer,
            )
    finally:
        if writer is not None:
            writer.close()
    if report.sent or report.failed or report.retrying:
        logger.info(
            "Dispatched messages: %d sent, %d retrying, %d failed",
            report.sent,
            report.retrying,
            report.failed,
        )
    return report


@contextmanager
def _outcomes_committed_asynchronously() -> Iterator[None]:
    """On PostgreSQL, don't wait for the WAL flush on this connection while dispatching.

    Losing the last few outcomes in a database-server crash only means those messages are sent
    again with the same Message-ID (receivers drop the copy); waiting for a disk flush on every
    message would more than halve throughput. Nothing else runs on this connection meanwhile.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _dispatch_batches(
    report: DispatchReport,
    *,
    batch_size: int | None,
    max_batches: int | None,
    clock: Callable[[], datetime],
    writer: OutcomeWriter | None,
) -> None:
    record = writer.record if writer is not None else _finish
    batches = 0
    with ExitStack() as open_transports:
        transports: dict[str, Transport] = {}

        def transport(channel: str) -> Transport:
            # One connection per channel for the whole pass, opened when first needed.
            if channel not in transports:
                transports[channel] = open_transports.enter_context(transport_for(channel))
            return transports[channel]

        while max_batches is None or batches < max_batches:
            batch = claim_due_messages(
                limit=batch_size or settings.CONFIDE_MESSAGE_BATCH_SIZE, now=clock()
            )
            if not batch:
                break
            batches += 1
            by_channel: dict[str, list[Message]] = defaultdict(list)
            for message in batch:
                by_channel[message.channel].append(message)
            reachable = True
            for channel, messages in by_channel.items():
                if not reachable:
                    _put_back(messages, after=backoff(1), clock=clock)
                    continue
                reachable = _send_with(
                    transport(channel),
                    messages,
                    report,
                    _limiter(channel),
                    clock,
                    record,
                    before_handover=writer.wait if writer is not None else _nothing,
                )
            if writer is not None:
                writer.wait()  # every outcome of the batch committed before the next claim
            if not reachable:
                break  # a provider is down: the ticker tries again when the backoff is over
