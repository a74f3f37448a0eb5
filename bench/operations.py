"""The tracer's operations of the load test, one request at a time (issue 8): what each costs
on its own at a given population, before any concurrency.

    DATABASE_URL=postgres://... python -m bench --only operations --no-write
    python -m bench.operations --people 100000 --journeys 60     # in the bench's own database

On top of the population of bench/population.py (the 10th of its cases that are new wait in
the clinicians' and health protection's queues), a trained clinician signed in with both
factors repeats the load test's journey (bench/load_locust.py) through Django's test client
with the real middleware: your work, claim next, read the case, record a call attempt, the
contact form, record a contact, complete. Each operation's p50 and p99 and its number of SQL
statements are reported beside the floor (/readyz through the same stack). Targets as the
load test's: p99 < 100 ms for each operation, < 50 ms for claiming the next item; here with
one tracer, so they say what the code costs, not what the machine holds under load.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rich.progress import Progress

from bench.load_spec import (
    CLAIM_NEXT,
    COMPLETE,
    CONTACT_FORM,
    JOURNEY,
    READ_CASE,
    RECORD_ATTEMPT,
    RECORD_CONTACT,
    YOUR_WORK,
)
from bench.population import load_population
from bench.report import Machine
from confide.api.health import record_worker_heartbeat
from confide.cases.models import Case
from confide.staff.models import Role, StaffMember
from confide.staff.tests.factories import StaffMemberFactory, record_in_date_training
from confide.workspace.tests.conftest import sign_in

DEFAULT_PEOPLE = 100_000
DEFAULT_JOURNEYS = 60
FLOOR = "floor: /readyz (one row)"
TARGET_P99_MS = 100.0
TARGET_CLAIM_P99_MS = 50.0


@dataclass
class Timings:
    samples: dict[str, list[float]] = field(default_factory=dict)  # ms per request
    queries: dict[str, list[int]] = field(default_factory=dict)  # SQL statements per request

    def add(self, operation: str, milliseconds: float, statements: int) -> None:
        self.samples.setdefault(operation, []).append(milliseconds)
        self.queries.setdefault(operation, []).append(statements)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def clinician() -> StaffMember:
    member = StaffMemberFactory.create(
        role=Role.CLINICIAN, email=f"bench-{uuid.uuid4().hex[:12]}@confide.example.org"
    )
    record_in_date_training(member)
    return member


class Journey:
    """One tracer's journey through the test client, each request timed and its SQL counted."""

    def __init__(self, browser: Client, timings: Timings, profiles: dict[str, cProfile.Profile]):
        self.browser = browser
        self.timings = timings
        self.profiles = profiles

    def timed(self, operation: str, request: Callable[[], Any], expect: int) -> Any:
        profile = self.profiles.get(operation)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            if profile is not None:
                profile.enable()
            response = request()
            if profile is not None:
                profile.disable()
            elapsed = (time.perf_counter() - started) * 1000
            statements = len(captured.captured_queries)  # read before the next request resets it
        assert response.status_code == expect, (operation, response.status_code)
        self.timings.add(operation, elapsed, statements)
        return response

    def run(self) -> bool:
        """The load test's journey once; False if the queue was empty."""
        get, post = self.browser.get, self.browser.post
        self.timed(YOUR_WORK, lambda: get("/work/"), 200)
        claimed = self.timed(CLAIM_NEXT, lambda: post("/work/next/"), 302)
        item = claimed["Location"]
        if not item.startswith("/work/items/"):
            return False
        self.timed(READ_CASE, lambda: get(item), 200)
        self.timed(
            RECORD_ATTEMPT, lambda: post(f"{item}calls/", {"call-outcome": "completed"}), 302
        )
        self.timed(CONTACT_FORM, lambda: get(f"{item}contacts/add/"), 200)
        last_contact = timezone.localdate() - timedelta(days=1)
        contact = {
            "given_name": "Aled",
            "family_name": "Hughes",
            "phone": "",
            "email": f"contact-{uuid.uuid4().hex[:16]}@example.org",
            "nhs_number": "",
            "last_contact_day": str(last_contact.day),
            "last_contact_month": str(last_contact.month),
            "last_contact_year": str(last_contact.year),
            "proximity": "close",
        }
        self.timed(RECORD_CONTACT, lambda: post(f"{item}contacts/add/", contact), 302)
        self.timed(
            COMPLETE, lambda: post(f"{item}complete/", {"complete-outcome": "contacts"}), 302
        )
        return True


def measure_operations(
    *, journeys: int, profile_dir: Path | None = None, progress: Progress | None = None
) -> Timings:
    """`journeys` journeys of one signed-in clinician, after one untimed to warm up."""
    timings = Timings()
    profiles = {name: cProfile.Profile() for name in JOURNEY} if profile_dir else {}
    browser = sign_in(Client(), clinician())
    record_worker_heartbeat()
    Journey(browser, Timings(), {}).run()
    journey = Journey(browser, timings, profiles)
    task = progress.add_task("operations: journeys", total=journeys) if progress else None
    for _ in range(journeys):
        if not journey.run():
            break
        journey.timed(FLOOR, lambda: browser.get("/readyz"), 200)
        if progress is not None and task is not None:
            progress.advance(task)
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        for name, profile in profiles.items():
            profile.dump_stats(profile_dir / f"operations-{name.replace(' ', '-')}.prof")
    return timings


def markdown(machine: Machine, timings: Timings, people: int) -> str:
    database = machine.database.split(" (")[0]
    lines = [
        f"## Tracer operations one at a time at {people:,} cases on {database}",
        "",
        machine.describe(),
        "",
        "| operation | p50 ms | p99 ms | SQL statements | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for name in (FLOOR, *JOURNEY):
        samples = timings.samples.get(name)
        if not samples:
            continue
        p99 = percentile(samples, 99)
        if name == FLOOR:
            target, met = "—", "—"
        else:
            limit = TARGET_CLAIM_P99_MS if name == CLAIM_NEXT else TARGET_P99_MS
            target, met = f"p99 < {limit:.0f} ms", "**yes**" if p99 < limit else "**no**"
        statements = timings.queries[name]
        lines.append(
            f"| {name} | {statistics.median(samples):.1f} | {p99:.1f} | "
            f"{min(statements)}–{max(statements)} | {target} | {met} |"
        )
    lines += [
        "",
        f"One clinician signed in with both factors repeats the load test's journey "
        f"({len(timings.samples.get(CLAIM_NEXT, []))} times after one warm-up) through Django's "
        f"test client with the real middleware, on the population of bench/population.py; "
        f"the floor is /readyz through the same stack, after each journey. No concurrency: "
        f"this is what each operation costs on its own (bench/load.py measures them under load).",
    ]
    return "\n".join(lines)


def run(
    progress: Progress, *, machine: Machine, quick: bool = False, profile_dir: Path | None = None
) -> dict[str, str]:
    wanted = 2_000 if quick else int(os.environ.get("BENCH_OPERATIONS_PEOPLE", DEFAULT_PEOPLE))
    # After another benchmark (growth) the population may already be there, or part of it.
    held = Case.objects.count()
    if held < wanted:
        load_population(wanted - held, progress=progress)
    timings = measure_operations(
        journeys=5 if quick else DEFAULT_JOURNEYS, profile_dir=profile_dir, progress=progress
    )
    cases = Case.objects.count()
    return {f"operations:{connection.vendor}": markdown(machine, timings, cases)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.operations", description=__doc__)
    parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE)
    parser.add_argument("--journeys", type=int, default=DEFAULT_JOURNEYS)
    parser.add_argument("--profile", type=Path, help="write cProfile stats per operation here")
    args = parser.parse_args(argv)
    os.environ["BENCH_OPERATIONS_PEOPLE"] = str(args.people)
    from bench.__main__ import bench_world

    with bench_world(os.environ.get("DATABASE_URL", "sqlite:///")):
        from bench.report import machine

        here = machine()
        with Progress() as progress:
            load_population(args.people, progress=progress)
            timings = measure_operations(
                journeys=args.journeys, profile_dir=args.profile, progress=progress
            )
        print(markdown(here, timings, args.people))
    return 0


if __name__ == "__main__":
    sys.exit(main())
