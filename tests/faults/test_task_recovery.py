"""Issue 8, faults: a worker SIGKILLed while running a task. django-tasks leaves the row
RUNNING for ever; confide/task_recovery.py puts it back in the queue once its worker's
heartbeat is stale, and another worker runs it. (Messages under repeated kills are covered by
tests/test_messaging_faults.py; this is the task part.)"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from confide.api.models import WorkerHeartbeat
from confide.task_recovery import requeue_abandoned_tasks
from tests.faults.support import REPO, confide_environment
from tests.faults.tasks import record_run
from tests.test_messaging_faults import _database_url_for_workers


def _running(worker: str, *, started: timedelta) -> DBTaskResult:
    result = record_run.enqueue("/dev/null")
    row = DBTaskResult.objects.get(id=result.id)
    row.status = TaskResultStatus.RUNNING
    row.started_at = timezone.now() - started
    row.worker_ids = [worker]
    row.save()
    return row


@pytest.mark.django_db
def test_a_task_whose_worker_stopped_beating_is_queued_again() -> None:
    WorkerHeartbeat.objects.create(worker="gone:1", seen_at=timezone.now() - timedelta(hours=1))
    row = _running("gone:1", started=timedelta(minutes=30))

    assert requeue_abandoned_tasks() == 1

    row.refresh_from_db()
    assert row.status == TaskResultStatus.READY
    assert row.started_at is None


@pytest.mark.django_db
def test_a_long_task_on_a_live_worker_is_left_running() -> None:
    WorkerHeartbeat.objects.create(worker="alive:2", seen_at=timezone.now())
    row = _running("alive:2", started=timedelta(minutes=30))

    assert requeue_abandoned_tasks() == 0
    row.refresh_from_db()
    assert row.status == TaskResultStatus.RUNNING


@pytest.mark.django_db
def test_a_task_started_moments_ago_is_left_running_even_before_its_first_heartbeat() -> None:
    row = _running("new:3", started=timedelta(seconds=5))

    assert requeue_abandoned_tasks() == 0
    row.refresh_from_db()
    assert row.status == TaskResultStatus.RUNNING


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "confide.cli", "worker", "--tick", "0.5", "--interval", "0.2"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _wait(condition: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text(errors='replace')}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_running_when_its_worker_is_killed_is_run_again_by_another(
    tmp_path: Path, test_key_ring: Path
) -> None:
    journal = tmp_path / "runs.txt"
    log = tmp_path / "worker.log"
    env = confide_environment(
        database_url=_database_url_for_workers(), key_ring=test_key_ring, data_dir=tmp_path
    )
    result = record_run.enqueue(str(journal))
    first = _start_worker(env, log)
    try:
        _wait(journal.exists, 60, "the first run to start", log)
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            first.kill()
    row = DBTaskResult.objects.get(id=result.id)
    assert row.status == TaskResultStatus.RUNNING  # what django-tasks alone leaves behind

    # Later than the heartbeat's staleness (two minutes), as the survivors' ticker will see it.
    assert requeue_abandoned_tasks(now=timezone.now() + timedelta(minutes=3)) == 1
    second = _start_worker(env, log)
    try:
        _wait(
            lambda: DBTaskResult.objects.get(id=result.id).status == TaskResultStatus.SUCCESSFUL,
            60, "the task to be run again", log,
        )  # fmt: skip
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

    row = DBTaskResult.objects.get(id=result.id)
    print(f"\nworker SIGKILLed mid-task: runs {journal.read_text().count('run')}, lost 0")
    assert journal.read_text().splitlines() == ["run", "run"]
    assert len(row.worker_ids) == 2
    assert row.worker_ids[0] != row.worker_ids[1]
