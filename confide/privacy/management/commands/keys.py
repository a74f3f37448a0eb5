"""confide keys init | rotate [--retire] | retire | migrate-epochs | status"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Max, Min
from django.db.models.functions import TruncMonth
from django.utils import timezone
from rich.console import Console
from rich.progress import Progress

from confide.privacy import services
from confide.privacy.keys import epoch_store_path, master_keys
from confide.privacy.models import DataKey


class Command(BaseCommand):
    help = "Create, rotate and inspect the master keys that wrap every data key."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        init = sub.add_parser("init", help="create a new key ring file")
        init.add_argument(
            "--demo", action="store_true", help="mark keys as demo (refused in production)"
        )
        init.add_argument(
            "--if-missing", action="store_true", help="do nothing if a key ring exists"
        )
        rotate = sub.add_parser(
            "rotate", help="add a master key version and re-wrap every data key"
        )
        rotate.add_argument(
            "--retire",
            action="store_true",
            help="then remove old versions at once (only when no other process is running)",
        )
        sub.add_parser(
            "retire",
            help="remove versions no data key uses (after every process has seen the new ring)",
        )
        sub.add_parser(
            "migrate-epochs",
            help="move data keys made before retention epochs into their epochs (run once)",
        )
        sub.add_parser(
            "status", help="show key versions, retention epochs and how many data keys each wraps"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.ending = ""
        console = Console(file=cast(IO[str], self.stdout))
        action = options["action"]
        if action == "init":
            self._init(
                console,
                demo=options.get("demo", False),
                if_missing=options.get("if_missing", False),
            )
        elif action == "rotate":
            self._rotate(console, retire=options.get("retire", False))
        elif action == "retire":
            self._retire(console)
        elif action == "migrate-epochs":
            self._migrate_epochs(console)
        else:
            self._status(console)

    def _init(self, console: Console, *, demo: bool, if_missing: bool) -> None:
        path = Path(settings.CONFIDE_KEYS_FILE)
        if path.exists() and if_missing:
            console.print(f"Key ring already present at {path}")
            # A key ring from before retention epochs gets its epoch store now.
            if services.init_epoch_store(demo=master_keys().ring.demo):
                console.print(
                    f"Created the retention epoch store at [bold]{epoch_store_path()}[/]."
                )
            return
        try:
            services.init_key_ring(path=path, demo=demo)
        except services.KeyRingExists as exc:
            raise CommandError(str(exc)) from exc
        kind = "demo " if demo else ""
        console.print(
            f"Created a {kind}key ring at [bold]{path}[/] (mode 0600). Back it up offline."
        )
        console.print(
            f"Created the retention epoch store at [bold]{epoch_store_path()}[/] (mode 0600). "
            "Keep its backups only briefly: a backup keeps erased people readable "
            "(docs/architecture.md, Retention epochs)."
        )

    def _rotate(self, console: Console, *, retire: bool) -> None:
        try:
            version = services.add_master_key_version()
        except Exception as exc:
            raise CommandError(f"Could not add a master key version: {exc}") from exc
        total = services.data_keys_needing_rewrap()
        console.print(f"Master key version {version} is active; re-wrapping {total} data keys.")
        with Progress(console=console, transient=False) as progress:
            task = progress.add_task("Re-wrapping data keys", total=total)
            done = services.rewrap_data_keys(on_batch=lambda n: progress.advance(task, n))
        console.print(f"Re-wrapped {done} data keys under version {version}.")
        if retire:
            self._retire(console)
        else:
            console.print(
                "Old versions stay in the key ring so running processes keep working; once every "
                "process has restarted or re-read the ring, run `confide keys retire`."
            )

    def _retire(self, console: Console) -> None:
        retired = services.retire_unused_master_keys()
        if retired:
            console.print(f"Removed unused master key versions {retired} from the key ring.")
        else:
            console.print("No master key version can be retired (each is active or in use).")

    def _migrate_epochs(self, console: Console) -> None:
        # The retention rules decide each key's epoch; imported here, at the edge, because
        # confide.privacy itself knows nothing of people, cases or places.
        from confide.dpo.retention import key_epochs_to_move

        unscheduled = DataKey.objects.filter(
            destroyed_at__isnull=True, retention_epoch__isnull=True
        ).count()
        moved = services.move_data_keys_to_epochs(key_epochs_to_move(today=timezone.localdate()))
        console.print(
            f"Moved {moved} data keys into retention epochs ({unscheduled} had none before; "
            "staff and other keys no retention rule erases stay under the master key alone)."
        )

    def _status(self, console: Console) -> None:
        provider = master_keys()
        console.print(
            f"Key ring: {provider.path or 'environment'}; active version {provider.active_version}"
        )
        for version in provider.versions():
            count = DataKey.objects.filter(master_version=version).count()
            console.print(f"  version {version}: wraps {count} data keys")
        destroyed = DataKey.objects.filter(destroyed_at__isnull=False).count()
        console.print(f"  destroyed (erased) data keys: {destroyed}")
        epochs = provider.epochs()
        console.print(
            f"Retention epochs: {epochs.path}; every epoch before {epochs.floor} is destroyed"
            + (
                f" (last destroyed at {epochs.ratchet.advanced_at})"
                if epochs.ratchet.advanced_at
                else ""
            )
        )
        live = DataKey.objects.filter(destroyed_at__isnull=True)
        unscheduled = live.filter(retention_epoch__isnull=True).count()
        console.print(f"  no epoch (master key alone): {unscheduled} data keys")
        months = (
            live.filter(retention_epoch__isnull=False)
            .annotate(month=TruncMonth("retention_epoch"))
            .values("month")
            .annotate(keys=Count("pk"), first=Min("retention_epoch"), last=Max("retention_epoch"))
            .order_by("month")
        )
        for month in months:
            console.print(
                f"  epochs {month['first']} to {month['last']}: {month['keys']} data keys"
            )
