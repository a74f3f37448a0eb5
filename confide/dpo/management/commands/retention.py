"""confide retention sweep [--dry-run]"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import IO, Any, cast

from django.core.management.base import BaseCommand
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from confide.dpo.retention import retention_policies, retention_sweep


class Command(BaseCommand):
    help = "Erase what the retention policy says is due (crypto-shredding); prints counts only."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sweep = sub.add_parser("sweep", help="erase every record past its retention period")
        sweep.add_argument(
            "--dry-run", action="store_true", help="count what is due without changing anything"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=cast(IO[str], self.stdout), highlight=False)
        dry_run = options["dry_run"]
        for policy in retention_policies():
            console.print(f"{policy.record}: {policy.kept_for} after {policy.after}")
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("Checking people with expired records", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            sweep = retention_sweep(dry_run=dry_run, on_progress=advance)
        table = Table(title="Due (dry run)" if dry_run else "Erased")
        table.add_column("Record type")
        table.add_column("Count", justify="right")
        for record, number in sweep.counts.items():
            table.add_row(record.replace("_", " "), str(number))
        console.print(table)
        if dry_run:
            console.print("Nothing was changed. Run without --dry-run to erase these records.")
