"""Sending queued messages: claim a batch, record intent, send, record the outcome.

Exactly-once as far as it can be had: a claim marks messages SENDING with a lease and commits
*before* anything is sent; each outcome commits right after the provider answers. A worker
killed mid-batch leaves in doubt only the message in flight — handed to the provider with
its outcome not yet committed. On PostgreSQL the outcome's statement is sent without waiting
for the answer, which is taken while the next message is being prepared and addressed
(`OutcomeWriter`), but the next message is handed over (SMTP DATA) only once that commit is
done, so there too at most one message is ever in doubt. When the lease expires it is sent
again with the same Message-ID / reference, so the receiver can drop the copy. Messages it had
claimed but not started are sent once, after the lease.
"""

from __future__ import annotations

import json
import logging
import random
import select
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
from confide.privacy.models import DataKey

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
    charged an attempt here (per lease and channel), so a message that kills its worker every
    time ends as failed. On PostgreSQL, outside a transaction: `_claim_in_one_statement`.
    """
    lease_until = now + timedelta(seconds=settings.CONFIDE_MESSAGE_LEASE_SECONDS)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _claim_in_one_statement(limit=limit, now=now, lease_until=lease_until)
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
        Message.objects.filter(pk__in=ids).update(
            state=MessageState.SENDING, lease_expires_at=lease_until
        )
        if abandoned:
            Message.objects.filter(pk__in=abandoned.values()).update(attempts=F("attempts") + 1)
    return _messages_to_send(ids)


_DATA_KEY_COLUMNS = tuple(f.attname for f in DataKey._meta.concrete_fields)
# In the model's field order, as `Model.from_db` reads them.
_CLAIMED_COLUMNS = tuple(
    f.attname
    for f in Message._meta.concrete_fields
    if f.attname
    in {
        "id",
        "reference",
        "channel",
        "template_id",
        "person_id",
        "staff_member_id",
        "data_key_id",
        "recipient_sealed",
        "personalisation_sealed",
        "state",
        "attempts",
        "lease_expires_at",
    }
)


def _claim_in_one_statement(
    *, limit: int, now: datetime, lease_until: datetime, after_pk: int = 0
) -> list[Message]:
    """`claim_due_messages` on PostgreSQL: lock, charge, lease and fetch in one statement.

    The same rules as the portable path (SKIP LOCKED, due order, an abandoned batch charges its
    lowest-pk message per lease and channel), but one round trip and one plan instead of
    three: the claim was a tenth of the time of a send. Returns the messages with their data
    keys and templates, in pk order, as `_messages_to_send` does. The due rule is thus written
    twice: test_claim_paths_agree.py (a hypothesis property over states, channels, due times
    and leases) fails if the two ever disagree.

    With `after_pk` it claims only the head of the due order as far as it runs above that pk
    (`ClaimAhead`): rows it locked beyond that are left as they were.
    """
    table = connection.ops.quote_name(Message._meta.db_table)
    keys = connection.ops.quote_name(DataKey._meta.db_table)
    returned = ", ".join(
        [f"m.{c}" for c in _CLAIMED_COLUMNS] + [f"k.{c}" for c in _DATA_KEY_COLUMNS]
    )
    sql = f"""
        WITH due AS (
            SELECT id, state, lease_expires_at, channel, next_attempt_at FROM {table}
            WHERE channel = ANY(%(channels)s) AND (
                (state = ANY(%(dispatchable)s) AND next_attempt_at <= %(now)s)
                OR (state = %(sending)s AND lease_expires_at < %(now)s))
            ORDER BY next_attempt_at, id
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        ), head AS (
            SELECT * FROM (
                SELECT due.*,
                    bool_and(id > %(after_pk)s) OVER (ORDER BY next_attempt_at, id) AS in_head
                FROM due
            ) AS ordered
            WHERE in_head
        ), charged AS (
            SELECT min(id) AS id FROM head WHERE state = %(sending)s
            GROUP BY lease_expires_at, channel
        )
        UPDATE {table} AS m
        SET state = %(sending)s, lease_expires_at = %(lease)s,
            attempts = m.attempts + CASE WHEN m.id IN (SELECT id FROM charged) THEN 1 ELSE 0 END
        FROM head, {keys} AS k
        WHERE m.id = head.id AND k.id = m.data_key_id
        RETURNING {returned}
    """  # noqa: S608 — table and column names are ours
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "channels": list(SENDABLE_CHANNELS),
                "dispatchable": list(DISPATCHABLE_STATES),
                "sending": MessageState.SENDING,
                "now": now,
                "lease": lease_until,
                "limit": limit,
                "after_pk": after_pk,
            },
        )
        rows = sorted(cursor.fetchall())
    split = len(_CLAIMED_COLUMNS)
    messages = []
    for row in rows:
        message = Message.from_db(connection.alias, _CLAIMED_COLUMNS, row[:split])
        message.data_key = DataKey.from_db(connection.alias, _DATA_KEY_COLUMNS, row[split:])
        messages.append(message)
    _share_templates(messages)
    return messages


class ClaimAhead:
    """Claims the next batch on a second connection while the current one is being sent.

    On PostgreSQL the claim (lock, lease, fetch) of a batch costs about a tenth of sending
    it, in series with the sends. Here a thread with its own connection claims the next batch
    as soon as the current one starts. The exactly-once rules hold because the batch it takes
    continues the current one: the same lease, and only pks above the current batch's
    (`after_pk`), so the two are sent in pk order as one batch would be, and an abandoned
    claim still charges only its lowest-pk unfinished message. When the head of the due order
    lies below that pk (a retry that fell due), it claims nothing, and the next claim is the
    ordinary one, in due order.
    """

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="confide-claims")
        self._next: Future[list[Message]] | None = None

    def start(self, current: list[Message], *, limit: int, now: datetime) -> None:
        lease = current[0].lease_expires_at
        assert lease is not None
        assert all(m.lease_expires_at == lease for m in current), "one claim, one lease"
        self._next = self._thread.submit(
            _claim_in_one_statement,
            limit=limit,
            now=now,
            lease_until=lease,
            after_pk=max(m.pk for m in current),
        )

    def take(self) -> list[Message]:
        """The batch claimed ahead ([] if none was started or none was due)."""
        if self._next is None:
            return []
        pending, self._next = self._next, None
        return pending.result()

    def close(self) -> list[Message]:
        """Stop; returns a batch claimed ahead and not taken (to be put back)."""
        try:
            return self.take()
        finally:
            self._thread.submit(_close_connection).result()
            self._thread.shutdown()


def _close_connection() -> None:
    connection.close()  # looked up here, in the calling thread: that thread's own connection


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
    _share_templates(messages)
    return messages


def _share_templates(messages: list[Message]) -> None:
    templates = MessageTemplate.objects.in_bulk({m.template_id for m in messages})
    for message in messages:
        message.template = templates[message.template_id]


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


def _outcome_statement(
    message: Message, state: str, *, attempted: bool = True, **fields: object
) -> tuple[str, list[Any]]:
    """The UPDATE that records an outcome, only if this worker still holds the message: still
    SENDING under the lease this worker set (a worker that overran its lease must not overwrite
    another's).

    One hand-written statement: this runs once per message sent, and the ORM's query building
    cost more than the statement itself.
    """
    assert set(fields) <= _OUTCOME_COLUMNS, f"not an outcome column: {set(fields)}"
    ops = connection.ops
    values = [
        ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in fields.values()
    ]
    assignments = "".join(f", {ops.quote_name(name)} = %s" for name in fields)
    table = ops.quote_name(Message._meta.db_table)
    # Null-safe comparisons, which no index serves: with plain `=` PostgreSQL's planner may
    # look the row up through the (state, lease) index, whose entries for one claimed batch
    # all share a key — every outcome then read the whole batch. This keeps it on the pk.
    same = "IS NOT DISTINCT FROM" if connection.vendor == "postgresql" else "IS"
    sql = (
        f"UPDATE {table} SET state = %s, lease_expires_at = NULL, "  # noqa: S608 — names are ours
        f"attempts = attempts + %s{assignments} "
        f"WHERE id = %s AND state {same} %s AND lease_expires_at {same} %s"
    )
    params: list[Any] = [
        state,
        1 if attempted else 0,
        *values,
        message.pk,
        MessageState.SENDING,
        ops.adapt_datetimefield_value(message.lease_expires_at),
    ]
    return sql, params


def _recorded(message: Message, state: str, updated: int) -> None:
    if updated:
        message_state_changed.send(
            sender=Message, message_id=message.pk, state=state, person_id=message.person_id
        )


def _finish(message: Message, state: str, *, attempted: bool = True, **fields: object) -> None:
    """Record an outcome and commit it (autocommit), waiting for the database's answer."""
    sql, params = _outcome_statement(message, state, attempted=attempted, **fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        updated = cursor.rowcount
    _recorded(message, state, updated)


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
    """Sends each outcome's UPDATE to PostgreSQL without waiting, and takes the answer later.

    Each outcome is a round trip to the database server in series with the SMTP exchange.
    Here the statement goes out on the dispatching connection through libpq's asynchronous
    query API (`psycopg.pq`: send now, read the result later), and the server commits it while
    message N+1 is rendered and its envelope (MAIL, RCPT) is sent. The transport calls `wait`
    just before handing N+1 over (DATA), so at any instant at most one message is with the
    provider without a committed outcome — the same rule as the inline path. Each shape of
    outcome statement is prepared once per pass: parsing and planning it cost the server as
    much as running it.

    Nothing else may use the connection while an answer is outstanding: every query Django
    sends on it during the pass first waits for that answer (`waiting_before_queries`), and
    the dispatch loop waits before it claims or puts messages back. psycopg's own API has no
    way to send a statement and read its result later outside pipeline mode (which commits
    only at a sync, and a sync waits), hence these few lines on its documented libpq layer.
    """

    def __init__(self) -> None:
        connection.ensure_connection()
        self._pgconn = connection.connection.pgconn
        self._prepared: dict[str, bytes] = {}  # statement text -> prepared statement's name
        self._pending: tuple[Message, str] | None = None

    def record(self, message: Message, state: str, **fields: Any) -> None:
        self.wait()
        sql, params = _outcome_statement(message, state, **fields)
        with connection.wrap_database_errors:
            name = self._prepared.get(sql) or self._prepare(sql)
            self._pgconn.send_query_prepared(name, [_text(value) for value in params])
            while self._pgconn.flush():
                select.select([], [self._pgconn.socket], [])
        self._pending = (message, state)

    def _prepare(self, sql: str) -> bytes:
        name = f"confide_outcome_{id(self):x}_{len(self._prepared)}".encode()
        numbered = sql.split("%s")
        text = "".join(f"{part}${n}" for n, part in enumerate(numbered[:-1], 1)) + numbered[-1]
        _raise_unless_ok(self._pgconn.prepare(name, text.encode()))
        self._prepared[sql] = name
        return name

    def wait(self) -> None:
        """Block until the outcome sent last is committed (re-raising a failure)."""
        if self._pending is None:
            return
        (message, state), self._pending = self._pending, None
        with connection.wrap_database_errors:
            updated = _command_rows(self._pgconn)
        _recorded(message, state, updated)

    def waiting_before_queries(self) -> Callable[..., Any]:
        """A Django execute wrapper: a query on the connection first takes the pending answer."""

        def wrapper(execute: Callable[..., Any], *args: Any) -> Any:
            self.wait()
            return execute(*args)

        return wrapper

    def close(self) -> None:
        """Take the last answer; forget the prepared statements (the connection lives on)."""
        try:
            self.wait()
        finally:
            if connection.connection is not None and self._prepared:
                with connection.wrap_database_errors:
                    for name in self._prepared.values():
                        _raise_unless_ok(self._pgconn.exec_(b"DEALLOCATE " + name))


def _text(value: object) -> bytes | None:
    """A parameter in PostgreSQL's text format (the server casts it to the column's type)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().encode()
    return str(value).encode()


def _raise_unless_ok(result: Any) -> None:
    from psycopg import pq
    from psycopg.errors import error_from_result

    if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
        raise error_from_result(result, encoding="utf-8")


def _command_rows(pgconn: Any) -> int:
    """Read every result of the statement sent last: the rows it changed, or its error."""
    while pgconn.is_busy():
        select.select([pgconn.socket], [], [])
        pgconn.consume_input()
    updated, failed = 0, None
    while (result := pgconn.get_result()) is not None:
        try:
            _raise_unless_ok(result)
        except Exception as error:
            failed = failed or error
        else:
            updated += result.command_tuples or 0
    if failed is not None:
        raise failed
    return updated


def overlaps_outcomes() -> bool:
    """Whether outcomes are committed while the next message is addressed (`OutcomeWriter`).

    On PostgreSQL, outside a transaction: there the outcome is a round trip to another
    process, worth overlapping. SQLite writes in-process in tens of microseconds; inside a
    caller's transaction an outcome would not commit on its own.
    """
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _put_back(messages: list[Message], *, after: timedelta, clock: Callable[[], datetime]) -> None:
    """Return claimed but untried messages to the queue, uncharged: one UPDATE per lease (a
    batch, or a batch and the one claimed ahead of it, share one), not one per message."""
    by_lease: dict[datetime | None, list[int]] = defaultdict(list)
    for waiting in messages:
        by_lease[waiting.lease_expires_at].append(waiting.pk)
    for lease, pks in by_lease.items():
        Message.objects.filter(
            pk__in=pks, state=MessageState.SENDING, lease_expires_at=lease
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
        raise ValueError("outcomes cannot be overlapped inside a transaction")
    elif overlap_outcomes and connection.vendor != "postgresql":
        raise ValueError("outcomes are overlapped only on PostgreSQL")
    writer = OutcomeWriter() if overlap_outcomes else None
    try:
        with ExitStack() as during_the_pass:
            if writer is not None:
                during_the_pass.enter_context(
                    connection.execute_wrapper(writer.waiting_before_queries())
                )
            during_the_pass.enter_context(_outcomes_committed_asynchronously())
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
    limit = batch_size or settings.CONFIDE_MESSAGE_BATCH_SIZE
    batches = 0
    # Claiming ahead goes with the overlapped outcomes: PostgreSQL, outside a transaction.
    ahead = ClaimAhead() if writer is not None else None
    with ExitStack() as open_transports:
        transports: dict[str, Transport] = {}

        def transport(channel: str) -> Transport:
            # One connection per channel for the whole pass, opened when first needed.
            if channel not in transports:
                transports[channel] = open_transports.enter_context(transport_for(channel))
            return transports[channel]

        try:
            while max_batches is None or batches < max_batches:
                batch = (ahead.take() if ahead else []) or claim_due_messages(
                    limit=limit, now=clock()
                )
                if not batch:
                    break
                batches += 1
                if ahead and (max_batches is None or batches < max_batches):
                    ahead.start(batch, limit=limit, now=clock())
                if not _send_batch(batch, transport, report, clock, record, writer):
                    break  # a provider is down: the ticker tries again after the backoff
        finally:
            if ahead is not None:
                _put_back_claimed_ahead(ahead, clock)


def _put_back_claimed_ahead(ahead: ClaimAhead, clock: Callable[[], datetime]) -> None:
    """Return a batch claimed ahead but not sent. If that fails (the database is gone, which
    is what stopped the pass), its lease runs out and it is claimed again in the usual way."""
    try:
        _put_back(ahead.close(), after=timedelta(0), clock=clock)
    except Exception:
        logger.exception("Could not put back the messages claimed ahead; their lease will end")


def _send_batch(
    batch: list[Message],
    transport: Callable[[str], Transport],
    report: DispatchReport,
    clock: Callable[[], datetime],
    record: Recorder,
    writer: OutcomeWriter | None,
) -> bool:
    """Send one claimed batch, channel by channel; False if a provider could not be reached."""
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
        writer.wait()  # every outcome of the batch committed before the next one starts
    return reachable
