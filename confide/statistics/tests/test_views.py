"""The public statistics page and its downloads: anonymous, consistent, counts only."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from confide.cases.models import Case
from confide.cases.tests.factories import CaseFactory
from confide.people.details import PersonDetails
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.statistics.selectors import PUBLISHED_FIELDS
from confide.statistics.services import publish_due_weeks

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> list[PersonDetails]:
    """Eight cases over two weeks: some cells small enough to be suppressed."""
    details = [PersonDetailsFactory.build() for _ in range(8)]
    for index, person in enumerate(details):
        case = CaseFactory.create(
            person=PersonFactory.create(details=person), specimen_date=date(2021, 1, 10)
        )
        Case.objects.filter(pk=case.pk).update(
            created_at=case.created_at - timedelta(days=7 * (index % 2) + 0)
        )
    publish_due_weeks(now=timezone.now() + timedelta(days=14))
    return details


def test_the_page_is_public(client: Client, people: list[PersonDetails]) -> None:
    response = client.get("/statistics/")

    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    assert b'<h1 class="govuk-heading-xl">Weekly contact tracing statistics</h1>' in (
        response.content
    )


def test_the_page_shows_no_personal_data(client: Client, people: list[PersonDetails]) -> None:
    page = client.get("/statistics/").content.decode()
    downloads = client.get("/statistics/weekly.csv").content.decode()
    downloads += client.get("/statistics/weekly.json").content.decode()

    for person in people:
        for value in (person.given_name, person.family_name, person.nhs_number):
            if value:
                assert value not in page
                assert value not in downloads


def test_csv_json_and_page_publish_the_same_figures(
    client: Client, people: list[PersonDetails]
) -> None:
    rows = client.get("/statistics/weekly.json").json()["weeks"]
    table = list(csv.DictReader(io.StringIO(client.get("/statistics/weekly.csv").content.decode())))
    page = client.get("/statistics/").content.decode()
    cells = re.findall(r'data-field="(\w+)">\s*(.*?)</td>', page, flags=re.S)

    assert [row["week"] for row in table] == [row["week"] for row in rows]
    for from_json, from_csv in zip(rows, table, strict=True):
        for field in PUBLISHED_FIELDS:
            assert from_csv[field] == ("" if from_json[field] is None else str(from_json[field]))
    on_page: dict[str, list[str]] = {}
    for field, text in cells:
        on_page.setdefault(field, []).append(re.sub(r"<[^>]+>|%", "", text).strip())
    for field in PUBLISHED_FIELDS:
        expected = ["–no data" if row[field] is None else str(row[field]) for row in rows]
        assert on_page[field] == expected, field
    assert "[c]" in page


def test_before_the_first_publication_the_page_says_so(client: Client) -> None:
    CaseFactory.create(specimen_date=date(2021, 1, 10))  # counted only once a week is published

    page = client.get("/statistics/")
    rows = client.get("/statistics/weekly.json").json()["weeks"]
    table = client.get("/statistics/weekly.csv").content.decode().splitlines()

    assert page.status_code == 200
    assert b"These statistics have not yet been published." in page.content
    assert b'id="cases"' not in page.content
    assert rows == []
    assert len(table) == 1, "the header only"


def test_the_page_reads_the_publication_and_counts_nothing(
    client: Client, people: list[PersonDetails]
) -> None:
    for url in ("/statistics/", "/statistics/weekly.csv", "/statistics/weekly.json"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200

        read = " ".join(query["sql"] for query in queries.captured_queries)
        assert "statistics_weeklypublication" in read
        for counted in ("cases_case", "tracing_exposure", "workqueue_callattempt"):
            assert counted not in read, (url, counted)
