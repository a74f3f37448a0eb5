"""The statements behind `open_follow_ups`, set-based so that a day of a national peak (a
million contacts in isolation) costs a few INSERT ... SELECT and UPDATE statements, not a
million round trips, and the worker's memory stays flat whatever the number of contacts.

Each statement is idempotent: a conditional update, or an insert that skips rows that already
have their item (NOT EXISTS) and ignores the partial unique constraints' conflicts (ON CONFLICT
DO NOTHING), so several workers may run the sweep at once. Written once for PostgreSQL and
SQLite (3.24+): both accept this SQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import connection, transaction

from confide.people.models import Person
from confide.staff.models import Tier
from confide.tracing.models import Exposure, FollowUp, FollowUpStatus
from confide.workqueue.models import WorkItem, WorkKind, WorkState
from confide.workqueue.services import PRIORITY_NORMAL

# Today's checks are opened this many at a time, each batch its own transaction, walking the
# (status, due_on, id) index, so no statement holds locks on the whole day's rows.
OPEN_BATCH = 10_000
CHASE_REASON = "missed two daily follow-ups in a row: phone them"

_ITEM = WorkItem._meta.db_table
_FOLLOW_UP = FollowUp._meta.db_table
_EXPOSURE = Exposure._meta.db_table
_PERSON = Person._meta.db_table
_ITEM_COLUMNS = (
    "kind, tier, priority, state, exposure_id, follow_up_id, reason, available_at, attempts, "
    "created_at"
)


def _day(value: date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def _moment(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def chase_missed_in_a_row(*, today: date, yesterday: date, now: datetime) -> int:
    """A contact call for each contact (not erased) with an unanswered check before today
    whose two latest checks up to yesterday are both unanswered (missed, or due and about to
    be marked missed). Run before the overdue checks are marked missed, in the same
    transaction. Returns how many calls were added (a contact with an open call keeps it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {_ITEM} ({_ITEM_COLUMNS})
            SELECT %s, %s, %s, %s, e.id, NULL, %s, %s, 0, %s
            FROM {_EXPOSURE} e
            JOIN {_PERSON} p ON p.id = e.contact_id
            WHERE p.erased_at IS NULL
              AND e.id IN (
                SELECT f.exposure_id FROM {_FOLLOW_UP} f
                WHERE f.status = %s AND f.due_on < %s AND f.exposure_id IS NOT NULL
              )
              AND (
                SELECT COUNT(*) FROM (
                  SELECT g.status FROM {_FOLLOW_UP} g
                  WHERE g.exposure_id = e.id AND g.due_on <= %s
                  ORDER BY g.due_on DESC LIMIT 2
                ) latest
                WHERE latest.status IN (%s, %s)
              ) = 2
            ON CONFLICT DO NOTHING
            """,  # noqa: S608 - table names from models, values as parameters
            [
                WorkKind.CONTACT_CALL,
                Tier.CALL_HANDLING,
                PRIORITY_NORMAL,
                WorkState.WAITING,
                CHASE_REASON,
                _moment(now),
                _moment(now),
                FollowUpStatus.DUE,
                _day(today),
                _day(yesterday),
                FollowUpStatus.DUE,
                FollowUpStatus.MISSED,
            ],
        )
        return max(cursor.rowcount, 0)


def mark_overdue_missed(*, today: date, now: datetime) -> int:
    """Checks left unanswered before today become missed, and their open items leave the
    queue (nobody can record a check-in for a day that has passed)."""
    missed = FollowUp.objects.filter(status=FollowUpStatus.DUE, due_on__lt=today).update(
        status=FollowUpStatus.MISSED
    )
    WorkItem.objects.filter(
        kind=WorkKind.FOLLOW_UP,
        state__in=(WorkState.WAITING, WorkState.CLAIMED),
        follow_up__due_on__lt=today,
    ).update(state=WorkState.CANCELLED, completed_at=now)
    return missed


def _batch_end(*, today: date, after: int) -> int | None:
    """The id closing the next batch of today's due checks (None: the rest is one batch)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {_FOLLOW_UP} WHERE status = %s AND due_on = %s AND id > %s "  # noqa: S608
            "ORDER BY id LIMIT 1 OFFSET %s",
            [FollowUpStatus.DUE, _day(today), after, OPEN_BATCH - 1],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def open_todays_checks(*, today: date, now: datetime, priority: int) -> int:
    """An item in the call handlers' queue for each of today's due checks of a contact (not
    erased) that has none yet. Returns how many were added."""
    opened = 0
    after = 0
    while True:
        end = _batch_end(today=today, after=after)
        upper = "AND f.id <= %s" if end is not None else ""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {_ITEM} ({_ITEM_COLUMNS})
                SELECT %s, %s, %s, %s, f.exposure_id, f.id, '', %s, 0, %s
                FROM {_FOLLOW_UP} f
                JOIN {_PERSON} p ON p.id = f.person_id
                WHERE f.status = %s AND f.due_on = %s AND f.id > %s {upper}
                  AND f.exposure_id IS NOT NULL
                  AND p.erased_at IS NULL
                  -- A correlated lookup through the follow_up_id index, not NOT EXISTS: the
                  -- planner would turn that into an anti join costed on statistics taken
                  -- before this sweep's own inserts, rescanning them for every row.
                  AND (
                    SELECT 1 FROM {_ITEM} w WHERE w.follow_up_id = f.id AND w.kind = %s LIMIT 1
                  ) IS NULL
                ON CONFLICT DO NOTHING
                """,  # noqa: S608 - table names from models, values as parameters
                [
                    WorkKind.FOLLOW_UP,
                    Tier.CALL_HANDLING,
                    priority,
                    WorkState.WAITING,
                    _moment(now),
                    _moment(now),
                    FollowUpStatus.DUE,
                    _day(today),
                    after,
                    *([end] if end is not None else []),
                    WorkKind.FOLLOW_UP,
                ],
            )
            opened += max(cursor.rowcount, 0)
        if end is None:
            return opened
        after = end
