"""Letters: queued like any message, sent by handing a print run to the printing supplier.

A print run is one CSV file, one row per letter and so one addressee per row, written
where the supplier collects it (an SFTP drop, a mounted share). The same intent-first rule as
dispatch: the letters are claimed under a lease and committed before the file is written, and
marked sent only once the file is complete on disk. A crash in between leaves them SENDING;
when the lease runs out they go into the next run with the same reference, which the supplier
uses to drop a letter printed twice.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from confide.messaging.dispatch import Undeliverable, envelope_for
from confide.messaging.models import DISPATCHABLE_STATES, Channel, Message, MessageState
from confide.messaging.signals import message_state_changed

PRINT_COLUMNS = ("reference", "address", "postcode", "subject", "body")


@dataclass(frozen=True)
class PrintRun:
    path: Path | None
    letters: int
    cancelled: int


def _claim_letters(*, limit: int, now: datetime) -> list[Message]:
    due = Q(state__in=DISPATCHABLE_STATES, next_attempt_at__lte=now) | Q(
        state=MessageState.SENDING, lease_expires_at__lt=now
    )
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(due, channel=Channel.LETTER)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        Message.objects.filter(pk__in=ids).update(
            state=MessageState.SENDING,
            lease_expires_at=now + timedelta(seconds=settings.CONFIDE_MESSAGE_LEASE_SECONDS),
        )
    return list(Message.objects.filter(pk__in=ids).select_related("template", "data_key"))


def _finish(messages: list[Message], state: str, **fields: object) -> None:
    Message.objects.filter(pk__in=[m.pk for m in messages], state=MessageState.SENDING).update(
        state=state, lease_expires_at=None, attempts=1, **fields
    )
    for message in messages:
        message_state_changed.send(
            sender=Message, message_id=message.pk, state=state, person_id=message.person_id
        )


def _write_atomically(path: Path, rows: list[dict[str, str]]) -> None:
    """Readable by this account only, and never seen half-written by the supplier's pickup."""
    partial = path.with_suffix(".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=PRINT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())
    partial.rename(path)


def export_print_run(
    directory: Path, *, limit: int = 5000, now: datetime | None = None
) -> PrintRun:
    """Write the due letters to one new print file in `directory` and mark them sent."""
    now = now or timezone.now()
    claimed = _claim_letters(limit=limit, now=now)
    rows: list[dict[str, str]] = []
    printed: list[Message] = []
    undeliverable: list[Message] = []
    for message in claimed:
        try:
            envelope = envelope_for(message)
        except Undeliverable:
            undeliverable.append(message)
            continue
        address, _, postcode = envelope.recipient.rpartition("\n")
        rows.append(
            {
                "reference": envelope.reference,
                "address": address or postcode,
                "postcode": postcode if address else "",
                "subject": envelope.subject,
                "body": envelope.body,
            }
        )
        printed.append(message)
    if undeliverable:
        _finish(undeliverable, MessageState.CANCELLED, last_error="recipient erased or purged")
    if not printed:
        return PrintRun(path=None, letters=0, cancelled=len(undeliverable))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"letters-{now:%Y%m%dT%H%M%S}-{printed[0].reference}.csv"
    _write_atomically(path, rows)
    _finish(printed, MessageState.SENT, sent_at=timezone.now(), provider_reference=path.name)
    return PrintRun(path=path, letters=len(printed), cancelled=len(undeliverable))
