"""The world a load run needs, made through the real services, and the checks made afterwards.

Used by bench/load.py and tests/test_scale_out.py: tracers (trained, with a TOTP device whose
key the load generator uses to compute codes, as an authenticator app would), lab API clients,
the app servers and workers as separate processes, and the double-claim audit.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django_otp.util import random_hex

from bench.load_spec import TracerLogin
from confide.api.services import issue_token, save_client
from confide.cases.models import CaseStatus, CaseTransition
from confide.privacy.crypto import unwrap_data_key
from confide.privacy.models import DataKey
from confide.staff.models import (
    AuthenticatorApp,
    Course,
    Role,
    StaffMember,
    Team,
    Tier,
    TrainingRecord,
)
from confide.staff.services import DATA_PROTECTION_TRAINING_VALID_FOR, build_staff_member
from confide.workqueue.models import CallAttempt, WorkItem

REPO = Path(__file__).resolve().parent.parent
TRACER_PASSWORD = "a long and memorable load-test passphrase"
KEY_ENVIRONMENT = ("CONFIDE_MASTER_KEYS", "CONFIDE_ACTIVE_MASTER_KEY", "CONFIDE_INDEX_KEY")


# -- people and clients ---------------------------------------------------------------------


@dataclass(frozen=True)
class Tracers:
    logins: list[TracerLogin]
    pk_by_email: dict[str, int]


def create_tracers(count: int, *, prefix: str = "load") -> Tracers:
    """`count` clinicians (tier 2, who take case interviews), trained a month ago, each with a
    confirmed TOTP device; built and sealed by the staff service, inserted in bulk."""
    today = timezone.localdate()
    team = Team.objects.create(name=f"Load test tracers ({prefix})", tier=Tier.CLINICAL)
    password_hash = make_password(TRACER_PASSWORD)  # one slow hash for every tracer
    members = [
        build_staff_member(
            display_name="Load Tracer",
            email=f"{prefix}-tracer-{n:04d}@confide.example.org",
            role=Role.CLINICIAN,
            team=team,
            password_hash=password_hash,
        )
        for n in range(count)
    ]
    emails = [f"{prefix}-tracer-{n:04d}@confide.example.org" for n in range(count)]
    with transaction.atomic():
        DataKey.objects.bulk_create([m.data_key for m in members])
        StaffMember.objects.bulk_create(members)
        totp_keys = [random_hex(20) for _ in members]
        AuthenticatorApp.objects.bulk_create(
            AuthenticatorApp(
                user=m,
                name="Load authenticator",
                confirmed=True,
                key_sealed=AuthenticatorApp.sealed_key(unwrap_data_key(m.data_key), key),
            )
            for m, key in zip(members, totp_keys, strict=True)
        )
        completed = today - timedelta(days=30)
        TrainingRecord.objects.bulk_create(
            TrainingRecord(
                staff_member=m,
                course=Course.DATA_PROTECTION,
                completed_on=completed,
                expires_on=completed + DATA_PROTECTION_TRAINING_VALID_FOR,
            )
            for m in members
        )
    return Tracers(
        logins=[
            TracerLogin(email=email, totp_key=key)
            for email, key in zip(emails, totp_keys, strict=True)
        ],
        pk_by_email={email: m.pk for email, m in zip(emails, members, strict=True)},
    )


def create_lab_tokens(count: int, *, prefix: str = "LOAD") -> list[str]:
    """One API client per lab (scope results:submit, its own lab code) and a token each, as
    `confide api-token create --scope results:submit --lab-code ...` makes them."""
    tokens = []
    for n in range(count):
        client = save_client(
            name=f"Load lab {prefix} {n}", scopes=["results:submit"], lab_code=f"{prefix}{n}"
        )
        tokens.append(issue_token(client=client).secret_token)
    return tokens


def seed_waiting_cases(count: int) -> int:
    """`count` positive results imported through the real pipeline (confide.ingest: validation,
    matching, sealing, a case and its interview each), as a lab's file would arrive. Returns
    how many cases were opened. With neither email nor phone, the cases get no self-service
    link, so their interviews wait in the queue at once (confide.public holds back the others
    for the self-service window)."""
    import csv
    import io

    from confide.ingest.services import ingest_csv

    yesterday = timezone.localdate() - timedelta(days=1)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["lab_result_id", "outcome", "specimen_date", "given_name", "date_of_birth", "address"]
    )
    born = date(1960, 1, 1)
    for n in range(count):
        writer.writerow(
            [
                f"SEED-{n:06d}",
                "positive",
                yesterday.isoformat(),
                "Seren",
                (born + timedelta(days=n)).isoformat(),
                f"{n + 1} Load Street",
            ]
        )
    buffer.seek(0)
    return ingest_csv(buffer, source="load test seed", lab_code="LOAD-SEED").cases_opened


# -- processes ------------------------------------------------------------------------------


def database_url() -> str:
    """The database this process is connected to (a test's own, or the bench's), as a URL."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    credentials = quote(s.get("USER") or "", safe="")
    if s.get("PASSWORD"):
        credentials += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{s['NAME']}"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Deployment:
    """App servers (`confide serve`, gunicorn) and workers (`confide worker`) on this process's
    database and key ring, each a process of its own, logging to `logs`."""

    logs: Path
    smtp_port: int
    extra_environment: Mapping[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in KEY_ENVIRONMENT}
        env.update(
            DATABASE_URL=database_url(),
            CONFIDE_KEYS_FILE=str(settings.CONFIDE_KEYS_FILE),
            CONFIDE_DATA_DIR=str(self.logs),
            # Shared by every app server, so a session signed by one is good on the others.
            SECRET_KEY=self.secret_key,
            CONFIDE_EMAIL_TRANSPORT="smtp",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(self.smtp_port),
            EMAIL_TIMEOUT="10",
            PYTHONUNBUFFERED="1",
            **self.extra_environment,
        )
        return env

    def _start(self, name: str, arguments: Sequence[str]) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "confide.cli", *arguments],
                cwd=REPO,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def serve(self, *, workers: int, threads: int = 4) -> str:
        """Start an app server; its base URL once it answers /healthz."""
        port = free_port()
        bind = f"127.0.0.1:{port}"
        self._start(
            f"serve-{port}",
            ["serve", "--bind", bind, "--workers", str(workers), "--threads", str(threads)],
        )
        return f"http://{bind}"

    def worker(self) -> None:
        self._start(f"worker-{len(self.processes)}", ["worker", "--tick", "1", "--interval", "0.5"])

    def wait_until_serving(self, urls: Sequence[str], *, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        for url in urls:
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:  # noqa: S310
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                    raise RuntimeError(f"{url} did not start; see {self.logs}:\n{self.tail()}")
                time.sleep(0.3)

    def warm_up(self, url: str, *, requests: int) -> None:
        """A server in production has served pages before: load each worker's views and
        templates before measuring (the sign-in page and /healthz, one after another)."""
        for _ in range(requests):
            for path in ("/sign-in/", "/healthz"):
                with urllib.request.urlopen(url + path, timeout=60) as answer:  # noqa: S310
                    answer.read()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def tail(self, lines: int = 30) -> str:
        text = []
        for log in sorted(self.logs.glob("*.log")):
            text.append(f"--- {log.name}")
            text.extend(log.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(text)


def run_load_generator(spec_path: Path, result_path: Path, *, timeout: float) -> None:
    """bench/load_locust.py in its own process (gevent must not patch this one)."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.load_locust", str(spec_path), str(result_path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{completed.stderr[-4000:]}")


# -- checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimAudit:
    """Evidence that no work item went to two tracers, from both sides of the wire."""

    items_claimed: int
    given_to_two_tracers: list[int]  # the load generator saw one item id go to two tracers
    holder_differs: list[int]  # the database's holder is not the tracer who was given it
    cases_assigned_twice: list[int]  # a case moved to "assigned" more than once in the run
    attempts_by_two_tracers: list[int]  # one item's calls recorded by two tracers
    timed_out_reclaims: int  # claims that took an item from a tracer whose claim timed out

    @property
    def double_claims(self) -> int:
        return len(
            set(self.given_to_two_tracers)
            | set(self.holder_differs)
            | set(self.attempts_by_two_tracers)
        ) + len(self.cases_assigned_twice)


def audit_claims(
    *, claims: Mapping[str, Sequence[int]], pk_by_email: Mapping[str, int], since: datetime
) -> ClaimAudit:
    owners: dict[int, set[str]] = defaultdict(set)
    for email, items in claims.items():
        for item in items:
            owners[item].add(email)
    holders = dict(WorkItem.objects.filter(pk__in=owners).values_list("pk", "claimed_by_id"))
    holder_differs = sorted(
        item
        for item, emails in owners.items()
        if len(emails) == 1 and holders.get(item) != pk_by_email[next(iter(emails))]
    )
    assigned = (
        CaseTransition.objects.filter(at__gte=since, to_status=CaseStatus.ASSIGNED)
        .values("case")
        .annotate(times=Count("id"))
        .filter(times__gt=1)
    )
    by_two = (
        CallAttempt.objects.filter(at__gte=since)
        .values("work_item")
        .annotate(tracers=Count("by", distinct=True))
        .filter(tracers__gt=1)
    )
    return ClaimAudit(
        items_claimed=len(owners),
        given_to_two_tracers=sorted(item for item, emails in owners.items() if len(emails) > 1),
        holder_differs=holder_differs,
        cases_assigned_twice=sorted(row["case"] for row in assigned),
        attempts_by_two_tracers=sorted(row["work_item"] for row in by_two),
        timed_out_reclaims=CaseTransition.objects.filter(
            at__gte=since, reason="claim timed out"
        ).count(),
    )
