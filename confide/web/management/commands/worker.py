"""confide worker: run background tasks (django-tasks database backend) until stopped."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background worker: claims queued tasks from the database and runs them."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--queue", default="*", help="queue name, or * for all (default)")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        call_command(
            "db_worker", queue_name=options["queue"], interval=options["interval"], reload=False
        )
