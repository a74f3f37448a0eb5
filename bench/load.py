"""Load test (issue 8): tracers, a lab feed and a framework floor over HTTP, on PostgreSQL.

    DATABASE_URL=postgres://... python -m bench --only load     # the target run (sizes below)
    DATABASE_URL=postgres://... python -m bench --quick --only load   # a smoke run, printed only
    # any size, in a database of its own name (python -m bench.load --help):
    python -m bench.load --people 0 --seed-cases 300 --tracers 20 --seconds 20 --rate 30

Everything is a real process on this machine: a population loaded by bench/population.py,
`confide serve` (gunicorn, several workers), `confide worker`s sending mail to an aiosmtpd
server (tests/support/smtp_sink.py), and the load generator (locust as a library, in its own
process: bench/load_locust.py). Tracers are trained clinicians with TOTP devices; each signs in
with both factors, then repeats the journey of tests/browser/test_tracer_journey.py: your work,
claim next, read the case, record a call attempt, add a contact, read the case, complete. Labs
post results to /api/results under their own tokens. The floor is /readyz through the same
stack: the middleware, one `SELECT 1` and one indexed read of the worker heartbeat table.

Afterwards the database is checked for double claims: an item id the generator saw go to two
tracers, an item whose holder in the database is not the tracer it was given to, a case moved
to "assigned" twice, or one item's calls recorded by two tracers.

Sizes come from flags (`python -m bench.load --help`) or, under `python -m bench`, from
BENCH_LOAD_PEOPLE, BENCH_LOAD_TRACERS, BENCH_LOAD_SECONDS, BENCH_LOAD_RATE, BENCH_LOAD_WEB_WORKERS
and BENCH_LOAD_TASK_WORKERS. Targets: 1,000,000 people and 2,000,000 exposures, 200 tracers for
5 minutes at 300 requests/s in all, p99 under 100 ms for every tracer operation and under 50 ms
for claiming the next item, no errors, no item claimed twice.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from django.db import connection
from django.utils import timezone
from rich.progress import Progress

from bench.cpu import GROUPS, CpuSampler
from bench.load_spec import CLAIM_NEXT, JOURNEY, SATURATED_FLOOR, SIGN_IN_OPERATIONS, LoadSpec
from bench.report import Machine

TARGET_RATE = 300.0
TARGET_P99_MS = 100.0
TARGET_CLAIM_P99_MS = 50.0
TARGET_PEOPLE = 1_000_000
FLOOR_PATH = "/readyz"


@dataclass(frozen=True)
class LoadOptions:
    people: int = TARGET_PEOPLE
    # Cases imported through confide.ingest on top (waiting for a tracer at once): slower to
    # make than bench/population.py's, but every row is what the live pipeline writes.
    seed_cases: int = 0
    tracers: int = 200
    seconds: float = 300.0
    rate: float = TARGET_RATE  # requests per second offered in all
    web_workers: int = 4
    threads: int = 4
    task_workers: int = 2
    labs: int = 3
    lab_rate: float = 1.0  # requests per second per lab
    lab_rows: int = 5  # results per request: 3 labs x 1/s x 5 = 15 results/s
    floor_users: int = 2
    floor_rate: float = 5.0
    spawn_rate: float = 10.0
    # After the load: this many signed-in tracers ask for the floor as fast as it answers, to
    # measure what the stack serves at most on this machine (0 to leave it out).
    capacity_users: int = 50
    capacity_seconds: float = 30.0

    @property
    def tracer_rate(self) -> float:
        others = self.labs * self.lab_rate + self.floor_users * self.floor_rate
        return max(self.rate - others, self.tracers * 0.05) / self.tracers

    @property
    def smoke(self) -> bool:
        return self.people < TARGET_PEOPLE or self.tracers < 200 or self.seconds < 300


QUICK = LoadOptions(
    people=0,
    seed_cases=300,
    tracers=20,
    seconds=20,
    rate=30,
    capacity_users=10,
    capacity_seconds=5,
    web_workers=2,
    task_workers=1,
)
ENVIRONMENT = {
    "people": "BENCH_LOAD_PEOPLE",
    "seed_cases": "BENCH_LOAD_SEED_CASES",
    "tracers": "BENCH_LOAD_TRACERS",
    "seconds": "BENCH_LOAD_SECONDS",
    "rate": "BENCH_LOAD_RATE",
    "web_workers": "BENCH_LOAD_WEB_WORKERS",
    "threads": "BENCH_LOAD_THREADS",
    "task_workers": "BENCH_LOAD_TASK_WORKERS",
}


def options_from_environment(base: LoadOptions) -> LoadOptions:
    changes: dict[str, Any] = {}
    for name, variable in ENVIRONMENT.items():
        if variable in os.environ:
            kind = type(getattr(base, name))
            changes[name] = kind(os.environ[variable])
    return replace(base, **changes)


# -- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    options: LoadOptions
    population: Any
    seeded: int
    waiting_at_start: int
    statistics: dict[str, Any]  # the measured window, after every tracer signed in
    before_window: dict[str, Any]  # the ramp and the sign-ins
    seen: dict[str, Any]
    audit: Any
    messages_queued: int
    messages_delivered: int
    lab_results_stored: int
    load_average_after: str
    capacity: dict[str, Any] | None  # the saturated floor's window, if measured
    cpu: dict[str, float]  # CPU seconds per kind of process in the measured window (bench/cpu.py)


def _waiting_interviews() -> int:
    from confide.staff.models import Tier
    from confide.workqueue.models import WorkItem, WorkKind, WorkState

    return WorkItem.objects.filter(
        kind=WorkKind.CASE_INTERVIEW,
        tier=Tier.CLINICAL,
        state=WorkState.WAITING,
        available_at__lte=timezone.now(),
    ).count()


def _wait_for_worker(url: str, timeout: float = 120.0) -> None:
    """/readyz (the floor) answers 200 only once a worker's ticker has recorded a heartbeat."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + FLOOR_PATH, timeout=5) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (urllib.error.HTTPError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url}{FLOOR_PATH} never became ready: no worker heartbeat")


def _drain_messages(since: datetime, timeout: float) -> None:
    from confide.messaging.models import Message, MessageState

    deadline = time.monotonic() + timeout
    unfinished = (MessageState.QUEUED, MessageState.SENDING, MessageState.FAILED_TEMPORARY)
    while time.monotonic() < deadline:
        if not Message.objects.filter(created_at__gte=since, state__in=unfinished).exists():
            return
        time.sleep(1)


def measure(progress: Progress, options: LoadOptions) -> Measured:
    from bench.load_world import (
        TRACER_PASSWORD,
        Deployment,
        audit_claims,
        create_lab_tokens,
        create_tracers,
        run_load_generator,
        seed_waiting_cases,
    )
    from bench.population import load_population
    from bench.report import load_average
    from confide.cases.models import TestResult
    from confide.messaging.models import Message
    from tests.support.smtp_sink import SmtpSink

    with tempfile.TemporaryDirectory(prefix="confide-load-") as scratch_name:
        scratch = Path(scratch_name)
        sink = SmtpSink(journal=scratch / "mail.jsonl").start()
        deployment = Deployment(logs=scratch / "processes", smtp_port=sink.port)
        try:
            # The processes take a while to import Django: start them, load the data meanwhile.
            url = deployment.serve(workers=options.web_workers, threads=options.threads)
            for _ in range(options.task_workers):
                deployment.worker()
            step = progress.add_task(f"Loading {options.people:,} people", total=1)
            population = (
                load_population(options.people, progress=progress) if options.people else None
            )
            seeded = seed_waiting_cases(options.seed_cases) if options.seed_cases else 0
            tracers = create_tracers(options.tracers)
            tokens = create_lab_tokens(options.labs)
            waiting = _waiting_interviews()
            progress.advance(step)
            step = progress.add_task("Waiting for confide serve and confide worker", total=1)
            deployment.wait_until_serving([url])
            _wait_for_worker(url)
            deployment.warm_up(url, requests=2 * options.web_workers * options.threads)
            progress.advance(step)
            spec = LoadSpec(
                hosts=[url],
                seconds=options.seconds,
                spawn_rate=options.spawn_rate,
                password=TRACER_PASSWORD,
                tracers=tracers.logins,
                tracer_rate=options.tracer_rate,
                lab_tokens=tokens,
                lab_rate=options.lab_rate,
                lab_rows=options.lab_rows,
                lab_positive_share=0.12,  # about 70,000 of 600,000 tests a day at the peak
                floor_users=options.floor_users,
                floor_rate=options.floor_rate,
                floor_path=FLOOR_PATH,
            )
            users = options.tracers + options.labs + options.floor_users
            ramp = users / options.spawn_rate
            step = progress.add_task(
                f"Load: {options.tracers} tracers, {options.labs} labs, floor; "
                f"{ramp:.0f} s ramp + {options.seconds:.0f} s",
                total=1,
            )
            since = timezone.now()
            spec.write(scratch / "spec.json")
            with CpuSampler(database=connection.settings_dict["NAME"]) as sampler:
                run_load_generator(
                    scratch / "spec.json",
                    scratch / "result.json",
                    timeout=ramp + options.seconds + 300,
                )
            progress.advance(step)
            load_after = load_average()
            result = json.loads((scratch / "result.json").read_text())
            cpu = sampler.between(*result["statistics"]["window"])
            step = progress.add_task("Letting the workers send the contacts' messages", total=1)
            _drain_messages(since, timeout=60)
            progress.advance(step)
            capacity = _saturated_floor(progress, options, spec, scratch)
        finally:
            deployment.stop()
            sink.stop()
        delivered = len(sink.transactions())
    seen = result["seen"]
    audit = audit_claims(claims=seen["claims"], pk_by_email=tracers.pk_by_email, since=since)
    return Measured(
        options=options,
        population=population,
        seeded=seeded,
        waiting_at_start=waiting,
        statistics=result["statistics"],
        before_window=result["before_window"],
        seen=seen,
        audit=audit,
        messages_queued=Message.objects.filter(created_at__gte=since).count(),
        messages_delivered=delivered,
        lab_results_stored=TestResult.objects.filter(lab_result_id__in=seen["lab_results"]).count(),
        load_average_after=load_after,
        capacity=capacity,
        cpu=cpu,
    )


def _saturated_floor(
    progress: Progress, options: LoadOptions, load: Any, scratch: Path
) -> dict[str, Any] | None:
    """What the stack serves at most here: signed-in tracers ask for the floor in a closed
    loop, no pacing, nothing else running. The target rate is read against it."""
    from bench.load_world import run_load_generator

    users = min(options.capacity_users, len(load.tracers))
    if not users or options.capacity_seconds <= 0:
        return None
    step = progress.add_task(
        f"Saturated floor: {users} signed-in tracers, {options.capacity_seconds:.0f} s", total=1
    )
    spec = replace(
        load,
        seconds=options.capacity_seconds,
        tracers=load.tracers[:users],
        lab_tokens=[],
        floor_users=0,
        mode="floor",
    )
    spec.write(scratch / "capacity.json")
    run_load_generator(
        scratch / "capacity.json",
        scratch / "capacity-result.json",
        timeout=users / options.spawn_rate + options.capacity_seconds + 300,
    )
    progress.advance(step)
    statistics: dict[str, Any] = json.loads((scratch / "capacity-result.json").read_text())[
        "statistics"
    ]
    return statistics


# -- the report -------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _yes(ok: bool) -> str:
    return "**yes**" if ok else "**no**"


def _population(measured: Measured) -> str:
    parts = []
    if measured.population is not None:
        p = measured.population
        parts.append(
            f"Population: {p.people:,} people, {p.cases:,} cases, {p.exposures:,} exposures "
            f"(bench/population.py, loaded in {p.seconds:.0f} s before the run)"
        )
    if measured.seeded:
        parts.append(
            f"{measured.seeded:,} cases imported through confide.ingest before the run (no "
            "email or phone, so no self-service window: they wait for a tracer at once)"
        )
    return "; ".join(parts) or "No population loaded"


def _capacity_rate(measured: Measured) -> float | None:
    if not measured.capacity:
        return None
    return float(measured.capacity["total"]["requests"] / measured.capacity["seconds"])


def _capacity_rows(measured: Measured, throughput: float) -> list[str]:
    rate = _capacity_rate(measured)
    if rate is None:
        return []
    return [
        f"| the stack's most on this machine: floor, signed in, as fast as answered "
        f"| {rate:,.0f} requests/s | — | — |",
        f"| throughput as a share of that floor | {throughput / rate:.2f} "
        f"| {TARGET_RATE / rate:.2f} ({TARGET_RATE:,.0f} requests/s) | — |",
    ]


def _capacity_note(measured: Measured) -> list[str]:
    rate = _capacity_rate(measured)
    if rate is None or measured.capacity is None:
        return []
    o = measured.options
    floor = measured.capacity["operations"].get(SATURATED_FLOOR, {})
    return [
        "",
        f"The stack's most: after the load, {min(o.capacity_users, o.tracers)} tracers signed "
        f"in again and asked for `GET {FLOOR_PATH}` as fast as it answered for "
        f"{measured.capacity['seconds']:.0f} s, nothing else running but the workers: "
        f"{rate:,.0f} requests/s (p50 {_ms(floor.get('p50'))} ms, p99 "
        f"{_ms(floor.get('p99'))} ms). That page is the least a signed-in request costs here "
        "(session, staff member and second-factor device read, middleware, `SELECT 1`, one "
        "indexed row); every tracer operation does that and more (4 to 24 statements, a page "
        "rendered), so the tracers' throughput can only be a share of it.",
    ]


def _cpu_table(measured: Measured, *, requests: int) -> list[str]:
    """Where the CPU went in the measured window, per request: what sizes a deployment."""
    cpu = measured.cpu
    if not cpu or not requests or not cpu.get("wall"):
        return []
    wall = cpu["wall"]
    cores = psutil.cpu_count() or 1
    lines = [
        "",
        f"Where the CPU went in the measured window ({wall:.0f} s, {cores} cores, so "
        f"{cores * wall:,.0f} CPU seconds at most; `bench/cpu.py` reads each process's CPU time "
        "from the kernel once a second):",
        "",
        "| processes | CPU seconds | share of the machine | ms of CPU per request |",
        "| --- | --- | --- | --- |",
    ]
    for group in GROUPS:
        lines.append(
            f"| {group} | {cpu[group]:,.1f} | {cpu[group] / (cores * wall):.0%} "
            f"| {1000 * cpu[group] / requests:.1f} |"
        )
    used = sum(cpu[g] for g in GROUPS)
    lines.append(
        f"| *all* | {used:,.1f} | {used / (cores * wall):.0%} | {1000 * used / requests:.1f} |"
    )
    return lines


def report(measured: Measured, machine: Machine) -> str:
    o = measured.options
    stats = measured.statistics
    seconds = stats["seconds"]
    operations: dict[str, dict[str, Any]] = stats["operations"]
    total = stats["total"]
    throughput = total["requests"] / seconds
    journey = [name for name in JOURNEY if name in operations]
    worst = max(journey, key=lambda name: operations[name]["p99"] or 0, default=None)
    worst_p99 = operations[worst]["p99"] if worst else None
    claim_p99 = operations.get(CLAIM_NEXT, {}).get("p99")
    audit = measured.audit
    seen = measured.seen
    before = measured.before_window
    failures = total["failures"] + before["total"]["failures"]
    requests = total["requests"] + before["total"]["requests"]
    errors = before["errors"] + stats["errors"]
    title = f"Load on {machine.database.split(' (')[0]}"
    lines = [
        f"## {title}: {o.tracers} tracers for {o.seconds:.0f} s"
        + (f" over {o.people:,} people" if o.people else ""),
        "",
    ]
    if o.smoke:
        lines += [
            "**A smoke run, not the target run** (targets: 1,000,000 people, 200 tracers, "
            "300 s, 300 requests/s). Regenerate with `DATABASE_URL=postgres://... python -m "
            "bench --only load` on a quiet machine.",
            "",
        ]
    lines += [
        machine.describe() + f" Load average when the load ended: {measured.load_average_after}.",
        "",
        _population(measured) + f"; {measured.waiting_at_start:,} "
        "tier-2 interviews waiting at the start. Processes, all on this machine: `confide "
        f"serve` (gunicorn, {o.web_workers} workers x {o.threads} threads), "
        f"{o.task_workers} `confide worker`, an aiosmtpd mail server, PostgreSQL, and the "
        "load generator (locust FastHttpUser, one process, which takes a core's share itself).",
        "",
        "| measure | Confide | target | met |",
        "| --- | --- | --- | --- |",
        f"| throughput, all requests | {throughput:,.1f} requests/s (offered {o.rate:,.0f}) "
        f"| {TARGET_RATE:,.0f} requests/s | {_yes(throughput >= TARGET_RATE)} |",
        f"| p99, claim the next item | {_ms(claim_p99)} ms | under {TARGET_CLAIM_P99_MS:.0f} ms "
        f"| {_yes(claim_p99 is not None and claim_p99 < TARGET_CLAIM_P99_MS)} |",
        f"| p99, slowest tracer operation ({worst or 'none measured'}) | {_ms(worst_p99)} ms "
        f"| under "
        f"{TARGET_P99_MS:.0f} ms | {_yes(worst_p99 is not None and worst_p99 < TARGET_P99_MS)} |",
        f"| errors | {failures:,} of {requests:,} requests (sign-ins included) | none "
        f"| {_yes(failures == 0)} |",
        f"| items claimed twice | {audit.double_claims} of {audit.items_claimed:,} claimed "
        f"| none | {_yes(audit.double_claims == 0)} |",
        *_capacity_rows(measured, throughput),
        "",
        "| operation | requests | per second | failures | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    sign_in = [name for name in SIGN_IN_OPERATIONS if name in operations]
    ordered = [*sign_in, *journey, *sorted(set(operations) - set(sign_in) - set(journey))]
    for name in ordered:
        f = operations[name]
        label = name if name not in SIGN_IN_OPERATIONS else f"{name} (once per tracer)"
        lines.append(
            f"| {label} | {f['requests']:,} | {f['requests'] / seconds:,.1f} | {f['failures']:,} "
            f"| {_ms(f['p50'])} | {_ms(f['p95'])} | {_ms(f['p99'])} | {_ms(f['max'])} |"
        )
    lines += [
        f"| *all* | {total['requests']:,} | {throughput:,.1f} | {total['failures']:,} "
        f"| {_ms(total['p50'])} | {_ms(total['p95'])} | {_ms(total['p99'])} "
        f"| {_ms(total['max'])} |",
        "",
        f"Tracers were started at {o.spawn_rate:.0f} a second; {seen['signed_in']} signed in "
        f"with both factors (sign-in rows: from that phase, which took "
        f"{before['seconds']:.0f} s; Argon2 makes a password check slow on purpose). The "
        f"other rows and the throughput are from the {seconds:.0f} s window after every tracer "
        f"had signed in. Each tracer is paced at {o.tracer_rate:.2f} requests/s (locust "
        "`constant_throughput`, one request per task). In the whole run tracers completed "
        f"{seen['completed']:,} interviews; claiming found the queue empty "
        f"{seen['queue_empty']:,} times. {len(seen['contacts']):,} contacts recorded; "
        f"{measured.messages_queued:,} messages queued in the run, "
        f"{measured.messages_delivered:,} delivered to the mail server by the end. Labs: "
        f"{o.labs} x {o.lab_rate:g} requests/s of {o.lab_rows} results; "
        f"{len(seen['lab_results']):,} results accepted ({seen['lab_positives']:,} positive), "
        f"{measured.lab_results_stored:,} found stored. The floor is `GET {FLOOR_PATH}` "
        f"({o.floor_users} x {o.floor_rate:g}/s): middleware, `SELECT 1` and one indexed read "
        "of the worker heartbeat table.",
        "",
        "Double claims were looked for from both sides: item ids the generator saw go to two "
        f"tracers ({len(audit.given_to_two_tracers)}), items whose holder in the database is "
        f"not the tracer given them ({len(audit.holder_differs)}), cases moved to assigned "
        f"twice ({len(audit.cases_assigned_twice)}), items whose calls two tracers recorded "
        f"({len(audit.attempts_by_two_tracers)}); claims taken over after a timeout: "
        f"{audit.timed_out_reclaims}.",
    ]
    lines += _capacity_note(measured)
    lines += _cpu_table(measured, requests=total["requests"])
    if errors:
        lines += ["", "| error | operation | times |", "| --- | --- | --- |"]
        for error in errors[:10]:
            lines.append(f"| {error['error'][:120]} | {error['name']} | {error['occurrences']} |")
    return "\n".join(lines)


def run(
    progress: Progress, *, machine: Machine, quick: bool, profile_dir: Path | None
) -> dict[str, str]:
    options = options_from_environment(QUICK if quick else LoadOptions())
    return run_with(progress, machine=machine, options=options)


def run_with(progress: Progress, *, machine: Machine, options: LoadOptions) -> dict[str, str]:
    if connection.vendor != "postgresql":
        progress.console.print(
            "[yellow]load: runs on PostgreSQL only (DATABASE_URL=postgres://...); skipped."
        )
        return {}
    return {f"load:{connection.vendor}": report(measure(progress, options), machine)}


def main(argv: list[str] | None = None) -> int:
    defaults = LoadOptions()
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    for name in (
        "people",
        "seed_cases",
        "tracers",
        "web_workers",
        "threads",
        "task_workers",
        "labs",
        "floor_users",
    ):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name)
        )
    for name in ("seconds", "rate", "lab_rate", "spawn_rate"):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name)
        )
    parser.add_argument("--no-write", action="store_true", help="print figures only")
    parser.add_argument(
        "--database",
        help="the throwaway PostgreSQL database to create and drop (default: "
        "CONFIDE_BENCH_DATABASE, else confide_bench)",
    )
    args = parser.parse_args(argv)
    options = replace(
        defaults,
        **{k: v for k, v in vars(args).items() if k not in {"no_write", "database"}},
    )
    import bench.__main__ as bench_main

    if args.database:  # read by bench_world when it creates and drops the database
        bench_main.BENCH_DATABASE = args.database
    with bench_main.bench_world(os.environ.get("DATABASE_URL", "sqlite:///")):
        from rich.console import Console

        from bench.report import machine, write_blocks

        console = Console()
        here = machine()
        console.print(f"[bold]Load test[/bold] — {here.describe()}")
        with Progress(console=console) as progress:
            blocks = run_with(progress, machine=here, options=options)
        for body in blocks.values():
            console.print(body, markup=False, highlight=False, soft_wrap=True)
        if blocks and not args.no_write:
            console.print(f"Wrote {write_blocks(blocks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
