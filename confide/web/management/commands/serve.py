"""confide serve: the production WSGI server (gunicorn) for Confide."""

from __future__ import annotations

import os
import sys
import tempfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

GUNICORN_CONFIG = "python:confide.observability.gunicorn_conf"


def metrics_directory() -> Path:
    """Where gunicorn's worker processes pool their Prometheus counters. It must start empty
    (old files would add a previous run's counts), so a given directory is emptied first."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not given:
        return Path(tempfile.mkdtemp(prefix="confide-metrics-"))
    path = Path(given)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return path


class Command(BaseCommand):
    help = (
        "Serve Confide with gunicorn: one process per core plus one, threads in each, static "
        "files by WhiteNoise, JSON logs. Settings: confide/observability/gunicorn_conf.py."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("CONFIDE_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, help="default: cores + 1")
        parser.add_argument("--threads", type=int, help="default: 4 per worker")

    def handle(self, *args: Any, **options: Any) -> None:
        # System checks first: production refuses demo keys, DEBUG or a missing SECRET_KEY here.
        call_command("check")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_directory())
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            GUNICORN_CONFIG,
            "--bind",
            options["bind"],
        ]
        if options["workers"]:
            argv += ["--workers", str(options["workers"])]
        if options["threads"]:
            argv += ["--threads", str(options["threads"])]
        argv.append("confide.wsgi:application")
        self.stdout.write(f"Confide is being served on http://{options['bind']}/")
        self.stdout.flush()
        os.execv(sys.executable, argv)  # noqa: S606 — replace this process with gunicorn
