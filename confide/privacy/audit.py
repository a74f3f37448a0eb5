"""Recording access to personal data in a hash-chained, append-only log."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from confide.bulk import insert_rows
from confide.privacy.blind_index import purpose_key
from confide.privacy.models import AccessEvent, AuditChainHead, AuditCheckpoint

GENESIS_HASH = "0" * 64


def entry_digest(
    *,
    previous_hash: str,
    sequence: int,
    at: datetime,
    actor_reference: uuid.UUID | None,
    subject_reference: uuid.UUID | None,
    action: str,
    purpose: str,
    object_type: str,
    object_reference: str,
) -> str:
    """SHA-256 over the previous hash and this entry's fields in a canonical JSON form."""
    canonical = json.dumps(
        [
            previous_hash,
            sequence,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            str(actor_reference) if actor_reference else None,
            str(subject_reference) if subject_reference else None,
            action,
            purpose,
            object_type,
            object_reference,
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Access:
    """What to record: one subject (or none, for a search) accessed by one actor."""

    action: str
    purpose: str
    actor_reference: uuid.UUID | None = None
    subject_reference: uuid.UUID | None = None
    object_type: str = ""
    object_reference: str = ""


def _advance_head(count: int) -> tuple[int, str]:
    """Lock the chain's head for this transaction (its row lock serialises appends) and move
    its sequence on by `count`, in one statement; returns the sequence and hash before."""
    head = connection.ops.quote_name(AuditChainHead._meta.db_table)
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(
                f"UPDATE {head} SET sequence = sequence + %s WHERE id = 1 "  # noqa: S608
                "RETURNING sequence, entry_hash",
                [count],
            )
            row = cursor.fetchone()
            if row is not None:
                return int(row[0]) - count, str(row[1])
            # The first entry ever: make the head (two first appends at once meet its key).
            cursor.execute(
                f"INSERT INTO {head} (id, sequence, entry_hash) VALUES (1, 0, %s) "  # noqa: S608
                "ON CONFLICT DO NOTHING",
                [GENESIS_HASH],
            )
    raise AssertionError("the audit chain's head could not be created")


_EVENT_COLUMNS = (
    ("sequence", "bigint"),
    ("at", "timestamptz"),
    ("actor_reference", "uuid"),
    ("subject_reference", "uuid"),
    ("action", "text"),
    ("purpose", "text"),
    ("object_type", "text"),
    ("object_reference", "text"),
    ("previous_hash", "text"),
    ("entry_hash", "text"),
)


def _write_postgresql(rows: list[dict[str, object]], head_hash: str) -> list[int]:
    """The entries and the head's new hash in one statement (one round trip while the head is
    locked), whatever the number of entries: one array per column."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column, _ in _EVENT_COLUMNS)
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in _EVENT_COLUMNS)
    events = quote(AccessEvent._meta.db_table)
    head = quote(AuditChainHead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH written AS (INSERT INTO {events} ({names}) SELECT * FROM UNNEST({arrays}) "  # noqa: S608
            f"RETURNING id, sequence), "
            f"moved AS (UPDATE {head} SET entry_hash = %s WHERE id = 1) "
            "SELECT id FROM written ORDER BY sequence",
            [*([row[column] for row in rows] for column, _ in _EVENT_COLUMNS), head_hash],
        )
        return [int(pk) for (pk,) in cursor.fetchall()]


def _append(accesses: list[Access]) -> list[tuple[int, dict[str, object]]]:
    """Append entries to the chain as rows: building and bulk-creating an instance per entry
    cost more than the rest of issuing a self-service link. On PostgreSQL that is two
    statements (lock and advance the head; write the entries and the head's hash), so the head
    stays locked for as short a time as the caller's transaction allows.

    No savepoint of its own: a failure here must fail the caller's whole transaction anyway,
    since an access that cannot be logged must not happen."""
    with transaction.atomic(savepoint=False):
        start, previous = _advance_head(len(accesses))
        now = timezone.now()
        rows: list[dict[str, object]] = []
        for number, access in enumerate(accesses, start=start + 1):
            fields: dict[str, object] = {
                "sequence": number,
                "at": now,
                "actor_reference": access.actor_reference,
                "subject_reference": access.subject_reference,
                "action": access.action,
                "purpose": access.purpose[:200],
                "object_type": access.object_type,
                "object_reference": access.object_reference[:64],
            }
            digest = entry_digest(previous_hash=previous, **fields)  # type: ignore[arg-type]
            fields["previous_hash"] = previous
            fields["entry_hash"] = digest
            rows.append(fields)
            previous = digest
        if connection.vendor == "postgresql":
            ids = _write_postgresql(rows, previous)
        else:
            ids = insert_rows(AccessEvent, rows)
            AuditChainHead.objects.filter(pk=1).update(entry_hash=previous)
    return list(zip(ids, rows, strict=True))


def append_accesses(accesses: list[Access]) -> None:
    """`record_accesses` for bulk callers that need no AccessEvent instances back."""
    if accesses:
        _append(accesses)


def record_accesses(accesses: list[Access]) -> list[AccessEvent]:
    """Append entries to the chain, in the caller's transaction (so they commit together)."""
    if not accesses:
        return []
    return [AccessEvent(pk=pk, **fields) for pk, fields in _append(accesses)]


def record_access(access: Access) -> AccessEvent:
    return record_accesses([access])[0]


@dataclass(frozen=True)
class ChainBreak:
    sequence: int
    reason: str


def _checkpoint_signature(sequence: int, entry_hash: str) -> str:
    key = purpose_key("audit-checkpoint")
    return hmac.new(key, f"{sequence}:{entry_hash}".encode(), hashlib.sha256).hexdigest()


def write_checkpoint() -> AuditCheckpoint | None:
    """Sign the chain's current head (the worker does this hourly)."""
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None or head.sequence == 0:
        return None
    last = AuditCheckpoint.objects.order_by("-sequence").first()
    if last is not None and last.sequence == head.sequence:
        return last
    return AuditCheckpoint.objects.create(
        sequence=head.sequence,
        entry_hash=head.entry_hash,
        signature=_checkpoint_signature(head.sequence, head.entry_hash),
    )


def verify_chain(*, batch_size: int = 5000) -> ChainBreak | None:
    """Walk the log in order; the first entry that does not follow from its predecessor, or
    that disagrees with a signed checkpoint."""
    checkpoints = {c.sequence: c for c in AuditCheckpoint.objects.all()}
    for checkpoint in checkpoints.values():
        expected_signature = _checkpoint_signature(checkpoint.sequence, checkpoint.entry_hash)
        if not hmac.compare_digest(expected_signature, checkpoint.signature):
            return ChainBreak(checkpoint.sequence, "a checkpoint's signature is not valid")
    previous = GENESIS_HASH
    expected = 1
    last_seen = 0
    while True:
        batch = list(
            AccessEvent.objects.filter(sequence__gt=last_seen).order_by("sequence")[:batch_size]
        )
        if not batch:
            break
        for event in batch:
            if event.sequence != expected:
                return ChainBreak(expected, f"entry {expected} is missing")
            if event.previous_hash != previous:
                return ChainBreak(event.sequence, "does not follow the entry before it")
            digest = entry_digest(
                previous_hash=event.previous_hash,
                sequence=event.sequence,
                at=event.at,
                actor_reference=event.actor_reference,
                subject_reference=event.subject_reference,
                action=event.action,
                purpose=event.purpose,
                object_type=event.object_type,
                object_reference=event.object_reference,
            )
            if digest != event.entry_hash:
                return ChainBreak(event.sequence, "was altered after it was written")
            signed = checkpoints.get(event.sequence)
            if signed is not None and signed.entry_hash != event.entry_hash:
                return ChainBreak(event.sequence, "differs from the signed checkpoint")
            previous = event.entry_hash
            expected += 1
            last_seen = event.sequence
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.sequence != last_seen or head.entry_hash != previous):
        return ChainBreak(last_seen + 1, "entries at the end of the log were removed")
    if checkpoints and max(checkpoints) > last_seen:
        return ChainBreak(last_seen + 1, "entries a signed checkpoint covers are missing")
    return None
