"""Sending queued messages: claim a batch, record intent, send, record the outcome.

Exactly-once as far as it can be had: a claim marks messages SENDING with a lease and commits
*before* anything is sent; each outcome commits right after the provider answers. A worker
killed mid-batch leaves at most the one message it was sending in doubt; when its lease expires
that message is sent again with the same Message-ID / reference, so the receiver can drop the
copy. Messages it had claimed but not started are sent once, after the lease.
"""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from confide.messaging.models import DISPATCHABLE_STATES, Channel, Message, MessageState
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
    """Mark up to `limit` due messages SENDING under a lease and commit: the intent to send."""
    due = Q(state__in=DISPATCHABLE_STATES, next_attempt_at__lte=now) | Q(
        state=MessageState.SENDING, lease_expires_at__lt=now
    )
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(due, channel__in=SENDABLE_CHANNELS)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        Message.objects.filter(pk__in=ids).update(
            state=MessageState.SENDING,
            attempts=F("attempts") + 1,
            lease_expires_at=now + timedelta(seconds=settings.CONFIDE_MESSAGE_LEASE_SECONDS),
        )
    return list(
        Message.objects.filter(pk__in=ids).select_related("template", "data_key").order_by("pk")
    )


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


def _finish(message: Message, state: str, **fields: object) -> None:
    """Record an outcome, only if this worker still holds the message (state SENDING)."""
    updated = Message.objects.filter(pk=message.pk, state=MessageState.SENDING).update(
        state=state, lease_expires_at=None, **fields
    )
    if updated:
        message_state_changed.send(sender=Message, message_id=message.pk, state=state)


def _record_temporary(message: Message, failure: TemporaryFailure, now: datetime) -> str:
    attempts = Message.objects.values_list("attempts", flat=True).get(pk=message.pk)
    if attempts >= settings.CONFIDE_MESSAGE_MAX_ATTEMPTS:
        _finish(message, MessageState.FAILED_PERMANENT, failed_at=now, last_error=failure.reason)
        return MessageState.FAILED_PERMANENT
    _finish(
        message,
        MessageState.FAILED_TEMPORARY,
        next_attempt_at=now + backoff(attempts),
        last_error=failure.reason,
    )
    return MessageState.FAILED_TEMPORARY


def _send_with(
    transport: Transport,
    messages: list[Message],
    report: DispatchReport,
    limiter: RateLimiter,
    clock: Callable[[], datetime],
) -> None:
    for index, message in enumerate(messages):
        if message.attempts > settings.CONFIDE_MESSAGE_MAX_ATTEMPTS:
            # Claimed again and again after expired leases (a worker dying on it each time).
            _finish(
                message,
                MessageState.FAILED_PERMANENT,
                failed_at=clock(),
                last_error="too many attempts",
            )
            report.failed += 1
            continue
        try:
            envelope = envelope_for(message)
            limiter.wait()
            provider_reference = transport.send(envelope)
        except Undeliverable as reason:
            _finish(message, MessageState.CANCELLED, last_error=str(reason)[:200])
            report.failed += 1
        except PermanentFailure as failure:
            _finish(
                message, MessageState.FAILED_PERMANENT, failed_at=clock(), last_error=failure.reason
            )
            report.failed += 1
        except TemporaryFailure as failure:
            outcome = _record_temporary(message, failure, clock())
            report.failed += outcome == MessageState.FAILED_PERMANENT
            report.retrying += outcome == MessageState.FAILED_TEMPORARY
            if failure.connection:
                # The provider is down: put the rest of the batch back with the same backoff
                # rather than hammering it message by message.
                for waiting in messages[index + 1 :]:
                    Message.objects.filter(pk=waiting.pk, state=MessageState.SENDING).update(
                        state=MessageState.FAILED_TEMPORARY,
                        attempts=F("attempts") - 1,
                        lease_expires_at=None,
                        next_attempt_at=clock() + backoff(1),
                    )
                return
        except Exception as exc:  # one bad message must not stall the batch behind it
            logger.exception("Unexpected error sending message %s", message.reference)
            outcome = _record_temporary(message, TemporaryFailure(type(exc).__name__), clock())
            report.retrying += outcome == MessageState.FAILED_TEMPORARY
            report.failed += outcome == MessageState.FAILED_PERMANENT
        else:
            _finish(
                message,
                MessageState.SENT,
                sent_at=clock(),
                provider_reference=provider_reference[:200],
                last_error="",
            )
            report.sent += 1


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
) -> DispatchReport:
    """Send due messages until none are left (or `max_batches`), one connection per channel."""
    report = DispatchReport()
    batches = 0
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
        for channel, messages in by_channel.items():
            with transport_for(channel) as transport:
                _send_with(transport, messages, report, _limiter(channel), clock)
    if report.sent or report.failed or report.retrying:
        logger.info(
            "Dispatched messages: %d sent, %d retrying, %d failed",
            report.sent,
            report.retrying,
            report.failed,
        )
    return report
