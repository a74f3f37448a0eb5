"""confide letters --to DIR: write the due letters to a print file for the printing supplier."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from confide.messaging.letters import export_print_run


class Command(BaseCommand):
    help = "Write every letter that is due to one print file (CSV) and mark them sent."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--to", type=Path, required=True, help="the supplier's drop folder")
        parser.add_argument("--limit", type=int, default=5000, help="letters in one file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = export_print_run(options["to"], limit=options["limit"])
        except OSError as exc:
            raise CommandError(
                f"Could not write the print file in {options['to']}: {exc.strerror}. "
                "Check the folder exists and this account can write to it; the letters stay "
                "queued and go in the next run."
            ) from exc
        if run.path is None:
            self.stdout.write("No letters are due.")
        else:
            self.stdout.write(f"Wrote {run.letters} letters to {run.path}.")
        if run.cancelled:
            self.stdout.write(f"Cancelled {run.cancelled} letters whose recipient was erased.")
