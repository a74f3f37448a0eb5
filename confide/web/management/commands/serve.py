"""confide serve: the production WSGI server (gunicorn) for Confide."""

from __future__ import annotations

import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Confide with gunicorn (several worker processes; static files by WhiteNoise)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("CONFIDE_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("CONFIDE_WEB_WORKERS", "2"))
        )
        parser.add_argument("--threads", type=int, default=4)

    def handle(self, *args: Any, **options: Any) -> None:
        # System checks first: production refuses demo keys, DEBUG or a missing SECRET_KEY here.
        call_command("check")
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "confide.wsgi:application",
            "--bind",
            options["bind"],
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "20",
        ]
        self.stdout.write(f"Confide is being served on http://{options['bind']}/")
        os.execv(sys.executable, argv)  # noqa: S606 — replace this process with gunicorn
