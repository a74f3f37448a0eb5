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


def _open_follow_ups() -> None:
    from confide.tracing.follow_up import open_follow_ups

    open_follow_ups()


def _checkpoint_audit_log() -> None:
    from confide.privacy.audit import write_checkpoint

    write_checkpoint()


def _sweep_retention() -> None:
    from confide.dpo.tasks import sweep_retention

    sweep_retention.enqueue()


def _worker_heartbeat() -> None:
    from confide.api.health import record_worker_heartbeat

    record_worker_heartbeat()


def _purge_api_bookkeeping() -> None:
    from confide.api.health import forget_departed_workers
    from confide.api.ratelimit import purge_old_windows

    purge_old_windows()
    forget_departed_workers()


def _requeue_abandoned_tasks() -> None:
    from confide.task_recovery import requeue_abandoned_tasks

    requeue_abandoned_tasks()


def _detect_breaches() -> None:
    from confide.dpo.detectors import run_detectors

    run_detectors(include_audit_chain=False)


def _detect_audit_chain_break() -> None:
    from confide.dpo.detectors import detect_audit_chain_break

    detect_audit_chain_break(now=timezone.now())


def _publish_statistics() -> None:
    from confide.statistics.periodic import enqueue_due_publication

    enqueue_due_publication()


def _queue_unfinished_self_service() -> None:
    from confide.public.periodic import sweep_self_service

    sweep_self_service()


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
            Every(timedelta(minutes=5), _detect_breaches),
            Every(timedelta(hours=1), _detect_audit_chain_break),
            # Hourly, not daily: it is idempotent, and so the new day's calls open within the hour.
            Every(timedelta(hours=1), _open_follow_ups),
            Every(timedelta(hours=24), _purge_messages),
            Every(timedelta(hours=24), _sweep_retention),
            # `/readyz` reports a worker as seen when this ran in the last two minutes.
            Every(timedelta(seconds=30), _worker_heartbeat),
            # Tasks a killed worker was running (confide/task_recovery.py).
            Every(timedelta(seconds=30), _requeue_abandoned_tasks),
            Every(timedelta(minutes=10), _purge_api_bookkeeping),
            # Cases who did not finish giving contacts online go to a tracer (confide.public).
            Every(timedelta(minutes=5), _queue_unfinished_self_service),
            # Each complete week's public statistics, once, when due (confide.statistics).
            Every(timedelta(hours=1), _publish_statistics),
        ]
    )

    def tick(self, now: datetime | None = None) -> None:
        now = now or timezone.now()
        for job in self.jobs:
            if job.last_run is None or now - job.last_run >= job.interval:
                job.job()
                job.last_run = now
