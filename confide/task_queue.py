"""Enqueueing timed work on django-tasks' database backend (see confide/schedule.py)."""

from __future__ import annotations

from typing import Any

from django_tasks.base import Task, TaskResultStatus
from django_tasks_db.models import DBTaskResult


def enqueue_unless_waiting(task: Task[[], Any]) -> bool:
    """Enqueue `task` unless a run of it already waits in the queue: every worker's ticker
    asks every few seconds, and one waiting run does the work for all of them."""
    waiting = DBTaskResult.objects.filter(
        task_path=task.module_path, status=TaskResultStatus.READY
    ).exists()
    if waiting:
        return False
    task.enqueue()
    return True
