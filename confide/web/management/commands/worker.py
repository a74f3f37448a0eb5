"""confide worker: run background tasks (django-tasks database backend) until stopped."""

from __future__ import annotations

import logging
import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from confide.api.health import worker_name
from confide.schedule import Ticker
from confide.task_recovery import WORKER_ID_LENGTH

logger = logging.getLogger("confide.worker")


def _run_ticker(stop: threading.Event, every: float) -> None:
    ticker = Ticker()
    while not stop.wait(every):
        try:
            close_old_connections()
            ticker.tick()
        except Exception:  # the timer must outlive a database blip; the next tick retries
            logger.exception("Periodic work failed; retrying at the next tick")
        finally:
            connection.close()


class Command(BaseCommand):
    help = "Run the background worker: claims queued tasks from the database and runs them."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--queue", default="*", help="queue name, or * for all (default)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
        parser.add_argument(
            "--tick", type=float, default=5.0, help="seconds between checks for due retries"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        timer = threading.Thread(
            target=_run_ticker, args=(stop, options["tick"]), name="confide-ticker", daemon=True
        )
        timer.start()
        try:
            call_command(
                "db_worker",
                queue_name=options["queue"],
                interval=options["interval"],
                reload=False,
                startup_delay=False,
                # Named as its heartbeat, so confide/task_recovery.py can tell its tasks
                # apart once it is gone.
                worker_id=worker_name()[:WORKER_ID_LENGTH],
            )
        finally:
            stop.set()
