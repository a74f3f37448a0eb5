"""confide statistics publish | status"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from confide.statistics.selectors import latest_publication
from confide.statistics.services import publish_due_weeks


class Command(BaseCommand):
    help = "Publish the weekly public statistics (each complete week once, frozen)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("publish", help="publish every complete week not yet published")
        sub.add_parser("status", help="show the latest publication")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "publish":
            published = publish_due_weeks()
            for publication in published:
                self.stdout.write(f"Published {publication.week} ({publication.method})")
            if not published:
                self.stdout.write("Nothing to publish: no complete week is waiting.")
        latest = latest_publication()
        if latest is None:
            self.stdout.write("Not yet published.")
        else:
            self.stdout.write(
                f"Latest publication: {latest.week}, published {latest.published_at:%Y-%m-%d %H:%M}"
            )
