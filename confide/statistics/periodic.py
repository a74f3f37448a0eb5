"""The statistics' timed work (see confide/schedule.py): publish a week once it is due."""

from __future__ import annotations

from datetime import datetime

from confide.statistics.services import publication_due
from confide.statistics.tasks import publish_statistics
from confide.task_queue import enqueue_unless_waiting


def enqueue_due_publication(now: datetime | None = None) -> bool:
    """Enqueue the publishing task if a week is due and none is already waiting to run."""
    return publication_due(now=now) and enqueue_unless_waiting(publish_statistics)
