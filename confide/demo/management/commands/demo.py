"""confide demo [--cases N] [--seed S]: load the synthetic demo once, then print the logins."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from confide.demo.generator import DEMO_PASSWORD, demo_logins, generate_demo
from confide.demo.models import DemoRun
from confide.statistics.services import publish_due_weeks


class Command(BaseCommand):
    help = "Load a synthetic demo (cases, contacts, settings, staff of every role) once."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--cases", type=int, default=300, help="number of cases (default 300)")
        parser.add_argument("--seed", type=int, default=2020, help="random seed (default 2020)")

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console()
        if settings.PRODUCTION:
            raise CommandError("The synthetic demo is never loaded in production.")
        cases: int = options["cases"]
        if cases < 1:
            raise CommandError("--cases must be at least 1.")
        previous = DemoRun.objects.order_by("pk").first()
        if previous is not None:
            console.print(f"The demo is already loaded ({previous.cases} cases); nothing to do.")
        else:
            with Progress(
                TextColumn("Loading demo"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("cases", total=cases)
                with transaction.atomic():
                    summary = generate_demo(
                        cases=cases,
                        seed=options["seed"],
                        on_progress=lambda n: progress.advance(task, n),
                    )
                    DemoRun.objects.create(seed=options["seed"], cases=cases)
                published = publish_due_weeks()
            console.print(
                f"Loaded {summary.cases} cases, {summary.people} people, "
                f"{summary.exposures} contacts, {summary.settings} settings, "
                f"{summary.staff} staff; weekly statistics published for "
                f"{len(published)} past week{'' if len(published) == 1 else 's'}."
            )
        _print_logins(console)


def _print_logins(console: Console) -> None:
    table = Table(title="Demo sign-ins (synthetic data only)")
    table.add_column("Role")
    table.add_column("Email")
    for login in demo_logins():
        table.add_row(login.role, login.email)
    console.print(table)
    console.print(f"Password for every demo account: [bold]{DEMO_PASSWORD}[/]")
    console.print(
        "Security code (second factor): run [bold].venv/bin/confide totp EMAIL[/] "
        "to print the current code of a demo account."
    )
