"""confide audit verify | checkpoint"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from confide.privacy.audit import verify_chain, write_checkpoint
from confide.privacy.models import AccessEvent


class Command(BaseCommand):
    help = "Verify the hash-chained access log, or sign a checkpoint of its head."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="check every entry follows from the one before it")
        sub.add_parser("checkpoint", help="sign the current head of the chain")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "checkpoint":
            checkpoint = write_checkpoint()
            self.stdout.write(
                f"Signed a checkpoint at entry {checkpoint.sequence}."
                if checkpoint
                else "The access log is empty; nothing to sign."
            )
            return
        problem = verify_chain()
        if problem is not None:
            raise CommandError(
                f"The access log is broken at entry {problem.sequence}: it {problem.reason}. "
                "Report this to the data protection officer as a possible breach."
            )
        self.stdout.write(
            f"The access log is intact: {AccessEvent.objects.count()} entries verified."
        )
