"""Messaging's timed work: retries that came due and leases that expired (see confide/schedule.py).

Enqueueing is idempotent in effect: a dispatch task that finds nothing due is a no-op.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from confide.messaging.dispatch import SENDABLE_CHANNELS
from confide.messaging.models import DISPATCHABLE_STATES, Message, MessageState
from confide.messaging.tasks import dispatch_messages
from confide.task_queue import enqueue_unless_waiting


def messages_due(now: datetime) -> bool:
    return Message.objects.filter(
        Q(state__in=DISPATCHABLE_STATES, next_attempt_at__lte=now)
        | Q(state=MessageState.SENDING, lease_expires_at__lt=now),
        channel__in=SENDABLE_CHANNELS,
    ).exists()


def enqueue_due_dispatch(now: datetime | None = None) -> bool:
    """Enqueue a dispatch task if messages are due and none is already waiting to run."""
    return messages_due(now or timezone.now()) and enqueue_unless_waiting(dispatch_messages)
