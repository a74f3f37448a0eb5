"""Issue 8, faults: the database stops taking writes — SQLite refusing writes as it does for a
read-only file, or PostgreSQL in read-only mode (`default_transaction_read_only`, as after a
failover to a standby, or set by hand to protect a nearly full disk). Writes fail with a clear
error, nothing is half-saved, the data stays consistent, and the same submission succeeds in
full once writes are possible."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from confide.api.services import issue_token, save_client
from confide.cases.models import Case
from confide.cases.models import TestResult as LabResult
from confide.ingest.tests.samples import result_row
from confide.people.models import Person
from confide.privacy.audit import verify_chain
from confide.privacy.models import AccessEvent
from confide.workqueue.models import WorkItem

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@contextmanager
def writes_refused() -> Iterator[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # SQLite's answer to a write on a read-only file ("attempt to write a readonly
            # database"); chmod would not stop root, and max_page_count does not stop small
            # inserts that fit in pages already allocated.
            cursor.execute("PRAGMA query_only = ON")
            try:
                yield "read-only database (SQLite query_only)"
            finally:
                cursor.execute("PRAGMA query_only = OFF")
        else:
            cursor.execute("SET SESSION default_transaction_read_only = on")
            try:
                yield "read-only (PostgreSQL default_transaction_read_only)"
            finally:
                cursor.execute("SET SESSION default_transaction_read_only = off")


def _counts() -> dict[str, int]:
    return {
        "results": LabResult.objects.count(),
        "people": Person.objects.count(),
        "cases": Case.objects.count(),
        "work items": WorkItem.objects.count(),
        "access events": AccessEvent.objects.count(),
    }


def _consistent() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA integrity_check")
            assert cursor.fetchone() == ("ok",)
    assert verify_chain() is None  # the hash-chained access log is unbroken


def test_writes_refused_by_the_database_fail_clearly_and_leave_nothing_half_saved() -> None:
    lab = save_client(name="Full disk lab", scopes=["results:submit"], lab_code="FULLDISK")
    token = issue_token(client=lab).secret_token
    rows = []
    for n in range(1, 6):
        row = result_row(n)
        del row["lab_code"]
        rows.append(row)
    client = Client(raise_request_exception=False)

    def submit() -> Any:
        return client.post(
            "/api/results",
            json.dumps({"rows": rows}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    before = _counts()
    with writes_refused() as fault:
        refused = submit()
        page = client.get("/statistics/")  # reads still work
    after_fault = _counts()

    print(f"\n{fault}: answered {refused.status_code}, half-saved rows 0" if after_fault == before
          else f"\n{fault}: rows changed {before} -> {after_fault}")  # fmt: skip
    assert refused.status_code in {500, 503}
    body = refused.content.decode()
    assert "Traceback" not in body
    assert "OperationalError" not in body
    assert "disk" not in body.lower()
    assert "read-only" not in body.lower()
    assert page.status_code == 200
    assert after_fault == before
    _consistent()

    accepted = submit()
    assert accepted.status_code == 200, accepted.content
    report = accepted.json()
    assert (report["imported"], report["duplicates"], report["rejected"]) == (5, 0, 0)
    assert _counts()["results"] == before["results"] + 5
    _consistent()
