"""Readiness: the database answers and a worker has run its ticker recently."""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from confide.api.models import WorkerHeartbeat
from confide.staff.decorators import public

logger = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def record_worker_heartbeat(*, now: datetime | None = None) -> None:
    """Called by each worker's ticker (confide/schedule.py)."""
    WorkerHeartbeat.objects.update_or_create(
        worker=worker_name(), defaults={"seen_at": now or timezone.now()}
    )


def forget_departed_workers(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    deleted, _ = WorkerHeartbeat.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()
    return deleted


def worker_stale_after() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "CONFIDE_WORKER_STALE_SECONDS", 120)))


def worker_seen_recently(*, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return WorkerHeartbeat.objects.filter(seen_at__gte=now - worker_stale_after()).exists()


@public
@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """For orchestrators: ready to take traffic only if the database answers and some worker
    has run in the last two minutes (without one, results would queue and no one be told)."""
    checks = {"database": "ok", "worker": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not worker_seen_recently():
            checks["worker"] = "not seen recently"
    except DatabaseError:
        # The exception text can name hosts and users; the log has it, the response does not.
        logger.exception("Readiness check could not reach the database")
        checks = {"database": "unavailable", "worker": "unknown"}
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
