"""The access log is append-only in effect: any edit, deletion or reordering is detected."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from confide.privacy.audit import (
    Access,
    entry_digest,
    record_access,
    record_accesses,
    verify_chain,
    write_checkpoint,
)
from confide.privacy.models import AccessAction, AccessEvent, AuditChainHead, AuditCheckpoint

pytestmark = pytest.mark.django_db

TABLE = AccessEvent._meta.db_table


def _log(count: int) -> list[AccessEvent]:
    return record_accesses(
        [
            Access(
                action=AccessAction.VIEW,
                purpose=f"case interview {n}",
                actor_reference=uuid.uuid4(),
                subject_reference=uuid.uuid4(),
                object_type="person",
            )
            for n in range(count)
        ]
    )


def _sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_an_untouched_log_verifies() -> None:
    _log(10)
    record_access(Access(action=AccessAction.SEARCH, purpose="supervisor search"))

    assert verify_chain() is None
    assert AuditChainHead.objects.get().sequence == 11


def test_the_entries_of_one_call_come_back_in_order_with_their_ids() -> None:
    events = _log(3)

    stored = list(AccessEvent.objects.order_by("sequence"))
    assert [(e.pk, e.sequence, e.entry_hash) for e in events] == [
        (e.pk, e.sequence, e.entry_hash) for e in stored
    ]
    assert AuditChainHead.objects.get().entry_hash == stored[-1].entry_hash


def test_entries_written_in_a_transaction_that_rolls_back_leave_no_trace() -> None:
    _log(2)

    def access_that_fails() -> None:
        with transaction.atomic():
            _log(3)
            raise RuntimeError("the access failed")

    with pytest.raises(RuntimeError):
        access_that_fails()
    _log(1)

    assert verify_chain() is None
    assert AuditChainHead.objects.get().sequence == 3


def _append_from_a_thread(start: threading.Barrier, rounds: int) -> None:
    try:
        start.wait(timeout=60)
        for n in range(rounds):
            if n % 2:
                with transaction.atomic():  # inside a caller's transaction, as services do
                    _log(2)
            else:
                _log(1)
    finally:
        connection.close()  # this thread's own connection


@pytest.mark.django_db(transaction=True)
def test_appends_from_many_connections_at_once_make_one_unbroken_chain() -> None:
    writers, rounds = 8, 10
    start = threading.Barrier(writers)

    # No head row yet: the first appends race to create it as well.
    with ThreadPoolExecutor(max_workers=writers) as pool:
        for done in [pool.submit(_append_from_a_thread, start, rounds) for _ in range(writers)]:
            done.result()

    assert verify_chain() is None
    expected = writers * (rounds // 2) * 3
    assert AuditChainHead.objects.get().sequence == expected
    assert AccessEvent.objects.count() == expected


def test_entries_chain_each_to_the_one_before() -> None:
    first, second = _log(2)

    assert second.previous_hash == first.entry_hash
    assert first.sequence + 1 == second.sequence


def test_editing_one_entry_in_sql_names_that_entry() -> None:
    _log(10)
    _sql(f"UPDATE {TABLE} SET purpose = %s WHERE sequence = %s", ["nothing to see", 5])

    problem = verify_chain()

    assert problem is not None
    assert problem.sequence == 5
    assert "altered" in problem.reason


def test_deleting_one_entry_in_sql_names_the_missing_entry() -> None:
    _log(10)
    _sql(f"DELETE FROM {TABLE} WHERE sequence = %s", [4])

    problem = verify_chain()

    assert problem is not None
    assert problem.sequence == 4


def test_swapping_two_entries_in_sql_names_the_first_of_them() -> None:
    _log(10)
    _sql(f"UPDATE {TABLE} SET sequence = %s WHERE sequence = %s", [-1, 6])
    _sql(f"UPDATE {TABLE} SET sequence = %s WHERE sequence = %s", [6, 7])
    _sql(f"UPDATE {TABLE} SET sequence = %s WHERE sequence = %s", [7, -1])

    problem = verify_chain()

    assert problem is not None
    assert problem.sequence == 6


def test_removing_the_newest_entries_is_detected() -> None:
    _log(10)
    _sql(f"DELETE FROM {TABLE} WHERE sequence > %s", [8])

    problem = verify_chain()

    assert problem is not None
    assert problem.sequence == 9


def test_rewriting_the_whole_chain_consistently_is_caught_by_a_signed_checkpoint() -> None:
    _log(6)
    write_checkpoint()
    # Someone with database access rewrites entry 3 and re-computes every later hash.
    previous = AccessEvent.objects.get(sequence=2).entry_hash
    for event in AccessEvent.objects.filter(sequence__gte=3).order_by("sequence"):
        purpose = "rewritten" if event.sequence == 3 else event.purpose
        digest = entry_digest(
            previous_hash=previous,
            sequence=event.sequence,
            at=event.at,
            actor_reference=event.actor_reference,
            subject_reference=event.subject_reference,
            action=event.action,
            purpose=purpose,
            object_type=event.object_type,
            object_reference=event.object_reference,
        )
        AccessEvent.objects.filter(pk=event.pk).update(
            purpose=purpose, previous_hash=previous, entry_hash=digest
        )
        previous = digest
    AuditChainHead.objects.filter(pk=1).update(entry_hash=previous)

    problem = verify_chain()

    assert problem is not None
    assert problem.sequence == 6
    assert "checkpoint" in problem.reason


def test_a_forged_checkpoint_signature_is_detected() -> None:
    _log(3)
    checkpoint = write_checkpoint()
    assert checkpoint is not None
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(signature="0" * 64)

    problem = verify_chain()

    assert problem is not None
    assert "signature" in problem.reason


def test_the_verify_command_fails_and_names_the_first_bad_entry() -> None:
    _log(5)
    _sql(f"UPDATE {TABLE} SET action = %s WHERE sequence = %s", ["export", 2])

    with pytest.raises(CommandError, match="broken at entry 2"):
        call_command("audit", "verify")


def test_the_verify_command_reports_an_intact_log(capsys: pytest.CaptureFixture[str]) -> None:
    _log(5)

    call_command("audit", "verify")

    assert "5 entries verified" in capsys.readouterr().out


def test_the_log_holds_references_not_personal_data() -> None:
    field_names = {f.name for f in AccessEvent._meta.get_fields()}

    assert not field_names & {"name", "email", "phone", "nhs_number", "address", "postcode"}
