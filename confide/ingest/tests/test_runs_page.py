"""The import runs page is a keyset-paginated list: the latest runs, then older ones."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from confide.ingest.models import ImportRun, ImportStatus
from confide.ingest.selectors import RUNS_PAGE_SIZE, recent_runs
from confide.staff.models import Role
from confide.staff.tests.factories import StaffMemberFactory
from confide.workspace.tests.conftest import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor_client(settings: object) -> Client:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
    return sign_in(Client(), StaffMemberFactory.create(role=Role.SUPERVISOR))


def runs_an_hour_apart(count: int) -> list[ImportRun]:
    """`count` finished runs, oldest first; two of them started at the same moment."""
    start = timezone.now() - timedelta(days=1)
    runs = []
    for n in range(count):
        run = ImportRun.objects.create(source="cli", format="csv", status=ImportStatus.COMPLETED)
        started = start + timedelta(hours=min(n, count - 2))
        ImportRun.objects.filter(pk=run.pk).update(started_at=started)
        runs.append(run)
    return runs


def test_the_runs_page_through_every_run_latest_first_once_each() -> None:
    runs = runs_an_hour_apart(5)

    seen, after = [], None
    while True:
        page = recent_runs(after=after, size=2)
        seen += [run.pk for run in page.items]
        if not page.has_next:
            break
        after = page.next_cursor

    assert seen == [run.pk for run in reversed(runs)]


def test_the_runs_page_links_to_older_runs(supervisor_client: Client) -> None:
    runs_an_hour_apart(RUNS_PAGE_SIZE + 1)

    latest = supervisor_client.get("/supervise/imports/").content.decode()
    link = re.search(r'href="(\?after=[^"]+)">Older runs<', latest)
    assert link is not None
    older = supervisor_client.get(f"/supervise/imports/{link.group(1)}").content.decode()

    rows = '<tr class="govuk-table__row">'
    assert latest.count(rows) == 1 + RUNS_PAGE_SIZE  # the header and a full page
    assert older.count(rows) == 1 + 1  # the header and the oldest run
    assert "Older runs" not in older


def test_a_cursor_the_runs_page_did_not_give_out_is_not_found(supervisor_client: Client) -> None:
    assert supervisor_client.get("/supervise/imports/?after=not-a-cursor").status_code == 404
