"""/metrics: Prometheus text for a bearer token only; figures read from the database."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from confide.api.models import WorkerHeartbeat
from confide.api.services import issue_token, save_client
from confide.ingest.tests.samples import result_row
from confide.workqueue.models import WorkItem, WorkState

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def metrics_token(settings: Any) -> str:
    settings.CONFIDE_METRICS_TOKEN = TOKEN
    return TOKEN


def _scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_do_not_exist_without_a_configured_token(settings: Any) -> None:
    settings.CONFIDE_METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404


def test_metrics_refuse_a_missing_or_wrong_token(metrics_token: str) -> None:
    assert Client().get("/metrics").status_code == 401
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")


def test_request_latency_is_counted_by_route_name(metrics_token: str) -> None:
    before = _scrape().get(
        ("confide_http_request_duration_seconds_count",
         (("method", "GET"), ("route", "healthz"), ("status", "200"))), 0.0,
    )  # fmt: skip
    for _ in range(3):
        Client().get("/healthz")

    after = _scrape()[
        ("confide_http_request_duration_seconds_count",
         (("method", "GET"), ("route", "healthz"), ("status", "200")))
    ]  # fmt: skip
    assert after - before == 3
    assert not any("/" in dict(labels).get("route", "") for _, labels in _scrape())


def test_queue_depth_messages_and_worker_heartbeats_come_from_the_database(
    metrics_token: str,
) -> None:
    lab = save_client(name="Metrics lab", scopes=["results:submit"], lab_code="METLAB")
    rows = []
    for n in (1, 2, 3):
        row = result_row(n)
        del row["lab_code"]
        rows.append(row)
    Client().post(
        "/api/results",
        json.dumps({"rows": rows}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {issue_token(client=lab).secret_token}",
    )
    WorkerHeartbeat.objects.create(
        worker="host-a:41", seen_at=timezone.now() - timedelta(seconds=30)
    )

    samples = _scrape()

    waiting = WorkItem.objects.filter(state=WorkState.WAITING)
    assert waiting.count() == 3
    for tier in set(waiting.values_list("tier", flat=True)):
        assert (
            samples[("confide_queue_depth", (("tier", str(tier)),))]
            == waiting.filter(tier=tier).count()
        )
    age = samples[("confide_worker_heartbeat_age_seconds", (("worker", "host-a:41"),))]
    assert 29 <= age < 60
    assert 29 <= samples[("confide_worker_heartbeat_newest_age_seconds", ())] < 60
