"""confide dpo detect [--skip-audit-chain]"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import IO, Any, cast

from django.core.management.base import BaseCommand
from rich.console import Console

from confide.dpo.detectors import FREQUENT_DETECTORS, detect_audit_chain_break


class Command(BaseCommand):
    help = "Run the breach detectors once: open or add to breach register entries."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        detect = sub.add_parser("detect", help="run every breach detector once")
        detect.add_argument(
            "--skip-audit-chain",
            action="store_true",
            help="do not verify the whole access log (the slowest detector)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.utils import timezone

        detectors = list(FREQUENT_DETECTORS)
        if not options["skip_audit_chain"]:
            detectors.append(detect_audit_chain_break)
        console = Console(file=cast(IO[str], self.stdout), highlight=False)
        now = timezone.now()
        opened = added = 0
        with console.status("Running breach detectors…"):
            for detector in detectors:
                run = detector(now=now)
                opened += run.opened
                added += run.added_to
                if run.opened or run.added_to:
                    console.print(f"{run.detector}: {run.opened} opened, {run.added_to} added to")
        if opened or added:
            console.print(
                f"{opened} new breach entr{'y' if opened == 1 else 'ies'}, {added} updated. "
                "Review them in the data protection office (/dpo/): the ICO must be told "
                "within 72 hours unless the breach is unlikely to harm anyone."
            )
        else:
            console.print(f"No new incidents found by {len(detectors)} detectors.")
