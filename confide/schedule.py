"""Timed work for `confide worker`: django-tasks has no scheduler, so each worker process runs
`Ticker.tick()` every few seconds beside its task loop and enqueues what has come due."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from confide.messaging.periodic import enqueue_due_dispatch


def _purge_messages() -> None:
    from confide.messaging.tasks import purge_messages

    purge_messages.enqueue()


def _checkpoint_audit_log() -> None:
    from confide.privacy.audit import write_checkpoint

    write_checkpoint()


@dataclass
class Every:
    interval: timedelta
    job: Callable[[], object]
    last_run: datetime | None = None


@dataclass
class Ticker:
    """What one worker process runs on its timer."""

    jobs: list[Every] = field(
        default_factory=lambda: [
            Every(timedelta(0), enqueue_due_dispatch),
            Every(timedelta(hours=1), _checkpoint_audit_log),
            Every(timedelta(hours=24), _purge_messages),
        ]
    )

    def tick(self, now: datetime | None = None) -> None:
        now = now or timezone.now()
        for job in self.jobs:
            if job.last_run is None or now - job.last_run >= job.interval:
                job.job()
                job.last_run = now
