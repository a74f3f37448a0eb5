"""The statistics' timed work (see confide/schedule.py): publish a week once it is due."""

from __future__ import annotations

from datetime import datetime

from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from confide.statistics.services import publication_due
from confide.statistics.tasks import publish_statistics


def enqueue_due_publication(now: datetime | None = None) -> bool:
    """Enqueue the publishing task if a week is due and none is already waiting to run."""
    if not publication_due(now=now):
        return False
    waiting = DBTaskResult.objects.filter(
        task_path=publish_statistics.module_path, status=TaskResultStatus.READY
    ).exists()
    if waiting:
        return False
    publish_statistics.enqueue()
    return True
