"""Issue 8, scale-out: two app servers and three workers on one PostgreSQL share a load and keep
the guarantees of one — no item claimed twice, every message sent once, nothing lost.

All real processes: two `confide serve` (gunicorn) on different ports, three `confide worker`s,
an aiosmtpd mail server (tests/support/smtp_sink.py) and the load generator of bench/load.py
(locust, in its own process). Each tracer's requests go to the two servers in turn, as a load
balancer without sticky sessions would send them, so a session signed in on one server is used
on the other. The tracers' journey and the double-claim audit are the load test's own
(bench/load_locust.py, bench/load_world.py).

PostgreSQL only: scale-out means several machines on one database server, which SQLite (one
file on one machine) does not do, so on SQLite the test does not apply and is skipped whatever
CONFIDE_STRICT says; on PostgreSQL it always runs.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from bench.load_spec import LoadSpec
from bench.load_world import (
    TRACER_PASSWORD,
    Deployment,
    audit_claims,
    create_lab_tokens,
    create_tracers,
    run_load_generator,
    seed_waiting_cases,
)
from confide.cases.models import TestResult as LabResult
from confide.messaging.models import Channel, Message, MessageState
from confide.messaging.services import broadcast_to_staff, current_template
from confide.messaging.template_types import TemplateKind
from confide.privacy.models import DataKey
from confide.staff.models import Role, StaffMember
from confide.staff.services import build_staff_member, create_staff_member
from tests.support.smtp_sink import SmtpSink

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not ON_POSTGRESQL,
        reason="scale-out is several app servers on one PostgreSQL; not applicable to SQLite",
    ),
]

TRACERS = 20
SECONDS = 30
WAITING = 100  # cases waiting at the start; the labs' positives add about 5 a second
BROADCAST = 200
UNFINISHED = (MessageState.QUEUED, MessageState.SENDING, MessageState.FAILED_TEMPORARY)


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    server = SmtpSink(journal=tmp_path / "mail.jsonl").start()
    yield server
    server.stop()


@pytest.fixture
def deployment(tmp_path: Path, sink: SmtpSink) -> Iterator[Deployment]:
    made = Deployment(
        logs=tmp_path / "processes",
        smtp_port=sink.port,
        extra_environment={"CONFIDE_MESSAGE_BATCH_SIZE": "20"},
    )
    yield made
    made.stop()


def _queue_staff_broadcast() -> None:
    """Work for the three workers beside the contacts' notifications: one email per member."""
    supervisor = create_staff_member(
        display_name="Sian Supervisor", email="supervisor@confide.example.org", role=Role.SUPERVISOR
    )
    members = [
        build_staff_member(
            display_name="Scale Tracer",
            email=f"broadcast{n:04d}@confide.example.org",
            role=Role.CALL_HANDLER,
        )
        for n in range(BROADCAST)
    ]
    DataKey.objects.bulk_create([m.data_key for m in members])
    StaffMember.objects.bulk_create(members)
    broadcast_to_staff(
        members=StaffMember.objects.filter(role=Role.CALL_HANDLER).select_related("data_key"),
        group_name="Scale-out test",
        template=current_template(kind=TemplateKind.STAFF_BROADCAST, channel=Channel.EMAIL),
        sent_by=supervisor,
    )


def _wait_for_messages(since: datetime, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Message.objects.filter(created_at__gte=since, state__in=UNFINISHED).exists():
            return
        time.sleep(0.5)


def _copies_by_reference(sink: SmtpSink) -> tuple[Counter[str], Counter[str]]:
    """Deliveries per message reference and per recipient address, at the mail server."""
    references: Counter[str] = Counter()
    recipients: Counter[str] = Counter()
    for accepted in sink.transactions():
        assert len(accepted["rcpt_tos"]) == 1, "one message, one recipient"
        references[accepted["message_id"].strip("<>").rsplit("@", 1)[0]] += 1
        recipients[accepted["rcpt_tos"][0].lower()] += 1
    return references, recipients


def test_two_app_servers_and_three_workers_share_a_load_without_double_claims_or_loss(
    deployment: Deployment, sink: SmtpSink, tmp_path: Path
) -> None:
    # The processes take a while to import Django: start them first, make the data meanwhile.
    servers = [deployment.serve(workers=1, threads=4) for _ in range(2)]
    for _ in range(3):
        deployment.worker()
    since = timezone.now()
    assert seed_waiting_cases(WAITING) == WAITING
    tracers = create_tracers(TRACERS, prefix="scale")
    lab_tokens = create_lab_tokens(2, prefix="SCALE")
    _queue_staff_broadcast()
    connections.close_all()  # nothing of this process holds a lock the servers could meet
    deployment.wait_until_serving(servers)

    spec = LoadSpec(
        hosts=servers,
        rotate_hosts=True,
        seconds=SECONDS,
        spawn_rate=20,
        password=TRACER_PASSWORD,
        tracers=tracers.logins,
        tracer_rate=1.0,
        lab_tokens=lab_tokens,
        lab_rate=1.0,
        lab_rows=5,
        lab_positive_share=0.5,
        floor_users=0,
        floor_rate=1.0,
        floor_path="/healthz",
    )
    spec.write(tmp_path / "spec.json")
    run_load_generator(tmp_path / "spec.json", tmp_path / "result.json", timeout=SECONDS + 120)
    result: dict[str, Any] = json.loads((tmp_path / "result.json").read_text())
    statistics, seen = result["statistics"], result["seen"]
    signing_in = result["before_window"]
    _wait_for_messages(since, timeout=45)

    # Every request answered as the journey expects, on both servers.
    assert signing_in["errors"] == statistics["errors"] == [], result
    assert signing_in["total"]["failures"] == statistics["total"]["failures"] == 0
    assert seen["signed_in"] == TRACERS
    assert seen["completed"] > 0, "no tracer finished an interview"
    assert all(seen["requests_by_host"].get(server, 0) > 0 for server in servers)

    # No item went to two tracers, seen from the wire and from the database.
    audit = audit_claims(claims=seen["claims"], pk_by_email=tracers.pk_by_email, since=since)
    assert audit.items_claimed >= seen["completed"]
    assert audit.given_to_two_tracers == []
    assert audit.holder_differs == []
    assert audit.cases_assigned_twice == []
    assert audit.attempts_by_two_tracers == []
    assert audit.timed_out_reclaims == 0

    # Nothing lost: each accepted lab result is stored; every email queued in the run (the
    # broadcast, the contacts' notifications, the labs' positives' self-service links; every
    # address made here is an email) was sent, and the mail server got each once — a second
    # copy only of a message whose lease ran out mid-send.
    assert LabResult.objects.filter(lab_result_id__in=seen["lab_results"]).count() == len(
        seen["lab_results"]
    )
    messages = Message.objects.filter(created_at__gte=since, channel=Channel.EMAIL)
    assert not messages.filter(state__in=UNFINISHED).exists(), "messages left unsent"
    assert messages.count() >= BROADCAST + len(seen["contacts"])
    references, recipients = _copies_by_reference(sink)
    sent = {str(r): attempts for r, attempts in messages.values_list("reference", "attempts")}
    assert set(references) == set(sent)
    for reference, copies in references.items():
        assert copies == 1 or sent[reference] > 1, f"message {reference} sent {copies} times"
    for contact in seen["contacts"]:
        assert recipients[contact] >= 1, "a contact's notification was lost"
