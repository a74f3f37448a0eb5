"""Tasks a dead worker was running go back in the queue.

django-tasks' database worker marks a task RUNNING when it claims it and finished when it ends;
a worker killed in between (SIGKILL, out of memory, a machine lost) leaves the row RUNNING for
ever, and nothing would run the task again. Each worker names itself after its heartbeat
(`confide worker` passes `worker_name()` as db_worker's worker id), so a RUNNING task whose
worker has not been seen for `worker_stale_after()` was abandoned: it is made READY again.
Every Confide task is idempotent (dispatch works from message leases, the purge and the
retention sweep from what is due), so running one again is safe."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from confide.api.health import worker_stale_after
from confide.api.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

# db_worker refuses worker ids of 64 characters or more.
WORKER_ID_LENGTH = 63


def requeue_abandoned_tasks(*, now: datetime | None = None) -> int:
    """Make READY every RUNNING task whose worker is no longer alive; returns how many."""
    now = now or timezone.now()
    cutoff = now - worker_stale_after()
    alive = {
        name[:WORKER_ID_LENGTH]
        for name in WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).values_list(
            "worker", flat=True
        )
    }
    requeued = 0
    suspects = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=cutoff
    ).values_list("id", "worker_ids", "task_path")
    for task_id, worker_ids, task_path in suspects:
        worker = worker_ids[-1] if worker_ids else ""
        if worker in alive:
            continue  # a long task on a live worker
        # Conditional on still RUNNING: the worker may have finished it since the read.
        requeued += DBTaskResult.objects.filter(id=task_id, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY, started_at=None
        )
        logger.warning(
            "Requeued task %s (%s): its worker %s stopped while running it",
            task_id,
            task_path,
            worker or "unknown",
        )
    return requeued
