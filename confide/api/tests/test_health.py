"""/readyz: ready when the database answers and a worker's ticker ran recently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from confide.api.health import record_worker_heartbeat
from confide.api.models import WorkerHeartbeat
from confide.schedule import Ticker

pytestmark = pytest.mark.django_db


def test_not_ready_until_a_worker_has_been_seen() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "worker": "not seen recently"},
    }


def test_a_workers_ticker_makes_the_service_ready() -> None:
    Ticker().tick()
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_a_worker_not_seen_for_minutes_makes_it_unready_again() -> None:
    record_worker_heartbeat(now=timezone.now() - timedelta(minutes=3))
    assert Client().get("/readyz").status_code == 503


def test_each_worker_keeps_one_heartbeat_row() -> None:
    record_worker_heartbeat()
    record_worker_heartbeat()
    assert WorkerHeartbeat.objects.count() == 1


def test_readyz_is_never_cached() -> None:
    assert "no-cache" in Client().get("/readyz")["Cache-Control"]


def test_unknown_api_paths_answer_problem_json() -> None:
    response = Client().get("/api/no/such/thing")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_the_openapi_document_and_docs_are_served() -> None:
    document = Client().get("/api/openapi.json")
    assert document.status_code == 200
    assert document.json()["info"]["title"] == "Confide API"
    docs = Client().get("/api/docs")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
