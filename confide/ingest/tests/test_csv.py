"""Importing CSV files: what a row becomes, idempotency, row-level errors, bounded memory."""

from __future__ import annotations

import gc
import io
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import pytest

from confide.cases.models import Case, CaseStatus
from confide.cases.models import TestResult as LabResult
from confide.ingest import services
from confide.ingest.models import ImportRowError, ImportRun, ImportStatus
from confide.ingest.services import UnreadableFile, ingest_csv
from confide.ingest.tests.samples import csv_file, result_row, write_csv
from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.selectors import people_by_nhs_number, person_details
from confide.people.services import create_person
from confide.workqueue.models import WorkItem, WorkKind, WorkState

pytestmark = pytest.mark.django_db


def csv_text(rows: list[dict[str, str]]) -> io.StringIO:
    stream = io.StringIO()
    write_csv(stream, rows)
    stream.seek(0)
    return stream


def test_a_positive_row_makes_a_person_a_result_a_case_and_a_queued_interview() -> None:
    row = result_row(1)

    report = ingest_csv(csv_text([row]), source="test")

    assert (report.received, report.imported, report.positives, report.cases_opened) == (1, 1, 1, 1)
    assert report.errors == ()
    person = people_by_nhs_number(row["nhs_number"]).get()
    details = person_details(person)
    assert (details.given_name, details.family_name) == (row["given_name"], row["family_name"])
    result = LabResult.objects.get(lab_code="LAB1", lab_result_id=row["lab_result_id"])
    case = Case.objects.get(test_result=result)
    assert case.person == person
    assert case.policy.version == 3  # in force on 10 January 2021
    assert case.symptom_onset is None
    assert case.infectious_from == date(2021, 1, 8)  # 2 days before the specimen date
    item = WorkItem.objects.get(case=case)
    assert (item.kind, item.state, item.tier) == (WorkKind.CASE_INTERVIEW, WorkState.WAITING, 2)
    run = ImportRun.objects.get(reference=report.run_reference)
    assert (run.status, run.imported, run.cases_opened) == (ImportStatus.COMPLETED, 1, 1)


def test_the_same_10000_row_file_ingested_twice_yields_10000_results(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "results.csv", (result_row(n) for n in range(10_000)))

    with path.open(encoding="utf-8") as stream:
        first = ingest_csv(stream, source="test")
    with path.open(encoding="utf-8") as stream:
        second = ingest_csv(stream, source="test")

    assert (first.received, first.imported, first.duplicates) == (10_000, 10_000, 0)
    assert (second.received, second.imported, second.duplicates) == (10_000, 0, 10_000)
    assert LabResult.objects.count() == 10_000
    assert Person.objects.count() == 10_000
    assert Case.objects.count() == 10_000
    assert WorkItem.objects.filter(kind=WorkKind.CASE_INTERVIEW).count() == 10_000


# Each corruption: the column it breaks, a bad value, and the reason we expect.
CORRUPTIONS = [
    ("nhs_number", "1234567890", "Enter a valid NHS number: the check digit does not match"),
    ("nhs_number", "12345", "Enter an NHS number with 10 digits, like 485 777 3456"),
    ("postcode", "NOT A CODE", "Enter a real UK postcode, like SW1A 1AA"),
    (
        "email",
        "not-an-email",
        "Enter an email address in the correct format, like name@example.com",
    ),
    ("phone", "call me maybe", "Enter a phone number, like 07700 900 982 or +44 7700 900 982"),
    ("specimen_date", "31/01/2021", "Enter the specimen date as a date like 2021-01-31"),
    ("specimen_date", "2099-01-01", "The test date must be today or in the past"),
    ("date_of_birth", "1880-01-01", "Date of birth must be on or after 1 January 1890"),
    ("outcome", "maybe", "Enter the outcome as positive, negative or void"),
    (
        "test_code",
        "12345-6",
        "Enter a SARS-CoV-2 LOINC code we accept (see docs/ingest.md), like 94500-6",
    ),
    ("given_name", "", "Enter the first name"),
    ("lab_result_id", "", "Enter the lab's result id"),
]


def corrupt(rows: list[dict[str, str]], *, first: int, every: int) -> list[tuple[int, str, str]]:
    """Spoil one row per CORRUPTIONS entry, from row `first` every `every` rows; returns the
    (line, column, reason) each should be reported with (line 1 is the header)."""
    expected = []
    for i, (column, value, reason) in enumerate(CORRUPTIONS):
        index = first + i * every
        rows[index] = {**rows[index], column: value}
        expected.append((index + 2, column, reason))
    return expected


def test_a_file_with_1_percent_bad_rows_imports_the_rest_and_reports_each_precisely() -> None:
    rows = [result_row(n) for n in range(1_200)]
    expected = corrupt(rows, first=37, every=97)

    report = ingest_csv(csv_text(rows), source="test")

    assert sorted((e.row, e.field, e.reason) for e in report.errors) == expected
    assert report.rejected == len(CORRUPTIONS)
    assert report.imported == 1_200 - len(CORRUPTIONS)
    assert LabResult.objects.count() == 1_200 - len(CORRUPTIONS)
    stored = ImportRowError.objects.filter(run__reference=report.run_reference)
    assert sorted(stored.values_list("row", "field", "reason")) == expected


def test_errors_and_import_runs_never_hold_the_submitted_values() -> None:
    rows = [
        {**result_row(n), "email": f"wrong{n}-at-example.org", "postcode": "ZZZ"} for n in range(5)
    ]

    ingest_csv(csv_text(rows), source="test")

    stored = " ".join(f"{e.field} {e.reason}" for e in ImportRowError.objects.all())
    for row in rows:
        for value in (row["email"], row["given_name"], row["family_name"], row["nhs_number"]):
            assert value not in stored
    assert " ZZZ" not in stored


def test_a_result_id_repeated_within_a_file_is_a_duplicate() -> None:
    rows = [result_row(1), result_row(2), {**result_row(3), "lab_result_id": "R00000001"}]

    report = ingest_csv(csv_text(rows), source="test")

    assert (report.imported, report.duplicates) == (2, 1)


def test_the_same_result_id_from_another_lab_is_another_result() -> None:
    rows = [result_row(1), {**result_row(1), "lab_code": "LAB2"}]

    report = ingest_csv(csv_text(rows), source="test")

    assert (report.imported, report.duplicates) == (2, 0)


def test_a_result_for_an_nhs_number_we_hold_links_to_that_person() -> None:
    row = result_row(5)
    known = create_person(
        details=PersonDetails(given_name="Someone", nhs_number=row["nhs_number"]),
        today=date(2021, 1, 1),
    )

    ingest_csv(csv_text([row]), source="test")

    assert LabResult.objects.get().person == known
    assert Person.objects.count() == 1


def test_two_rows_for_the_same_new_person_make_one_person_with_two_results() -> None:
    first = result_row(7)
    again = {**first, "lab_result_id": "R-again", "specimen_date": "2021-03-01"}

    report = ingest_csv(csv_text([first, again]), source="test")

    assert report.imported == 2
    assert Person.objects.count() == 1
    assert report.cases_opened == 2  # seven weeks apart: two episodes


def test_a_second_positive_in_the_same_episode_opens_no_second_case() -> None:
    first = result_row(8)
    later = {**first, "lab_result_id": "R-later", "specimen_date": "2021-01-14"}
    ingest_csv(csv_text([first]), source="test")

    report = ingest_csv(csv_text([later]), source="test")

    assert (report.imported, report.positives, report.cases_opened) == (1, 1, 0)
    assert Case.objects.count() == 1


def test_a_negative_confirmatory_test_closes_a_case_nobody_has_started() -> None:
    positive = result_row(9)
    negative = {
        **positive,
        "lab_result_id": "R-neg",
        "outcome": "negative",
        "specimen_date": "2021-01-11",
    }
    ingest_csv(csv_text([positive]), source="test")

    report = ingest_csv(csv_text([negative]), source="test")

    assert (report.negatives, report.cases_closed) == (1, 1)
    case = Case.objects.get()
    assert case.status == CaseStatus.CLOSED
    assert case.transitions.get().reason == "negative confirmatory test"
    assert WorkItem.objects.get(case=case).state == WorkState.CANCELLED


def test_a_negative_long_after_the_positive_is_only_recorded() -> None:
    positive = result_row(10)
    later = date(2021, 1, 10) + timedelta(days=5)
    negative = {
        **positive,
        "lab_result_id": "R-neg",
        "outcome": "negative",
        "specimen_date": later.isoformat(),
    }
    ingest_csv(csv_text([positive]), source="test")

    report = ingest_csv(csv_text([negative]), source="test")

    assert (report.imported, report.cases_closed) == (1, 0)
    assert Case.objects.get().status == CaseStatus.NEW


def test_a_file_without_a_lab_code_column_takes_the_lab_given() -> None:
    row = result_row(11)
    stream = io.StringIO()
    write_csv(stream, [row])
    text = stream.getvalue().replace("lab_code,", "", 1).replace("LAB1,", "", 1)

    report = ingest_csv(io.StringIO(text), source="test", lab_code="CLI-LAB")

    assert report.imported == 1
    assert LabResult.objects.get().lab_code == "CLI-LAB"


def test_a_file_missing_a_required_column_is_unreadable_and_the_run_says_why() -> None:
    with pytest.raises(UnreadableFile, match="specimen_date"):
        ingest_csv(
            io.StringIO("lab_code,lab_result_id,outcome,given_name\nL,1,positive,Ann\n"),
            source="test",
        )

    run = ImportRun.objects.get()
    assert run.status == ImportStatus.FAILED
    assert "specimen_date" in run.failure


def test_a_row_of_the_wrong_width_is_rejected_with_a_reason() -> None:
    stream = csv_text([result_row(12)])
    text = stream.getvalue() + "LAB1,R-short,positive\n"

    report = ingest_csv(io.StringIO(text), source="test")

    assert report.imported == 1
    assert [(e.row, e.field) for e in report.errors] == [(3, "row")]


def test_memory_stays_bounded_as_the_file_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are read and written in batches, never all at once: with batches of 25, a file of
    32 batches peaks at about the same memory as one of 4 (a growing peak would be about 8x; the
    allowance is for noise). Small batches keep the test quick under tracemalloc: what it proves
    is the ratio between the files, which the batch size does not change. The garbage collector
    runs after each batch, as it would at some point anyway, so what is measured is what a batch
    leaves referenced for the next.

    Measured as the peak above what is still held at the end: bounded caches that outlive the
    import (validated phone numbers, matching's keyed n-grams) are not the file's rows."""
    batch = 25
    monkeypatch.setattr(services, "BATCH_SIZE", batch)

    def collect_garbage(_rows: int) -> None:
        gc.collect()

    def peak(start: int, rows: int) -> int:
        numbers = range(start, start + rows)
        path = csv_file(tmp_path / f"{rows}.csv", (result_row(n) for n in numbers))
        tracemalloc.start()
        with path.open(encoding="utf-8") as stream:
            report = ingest_csv(stream, source="test", progress=collect_garbage)
        current, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert report.imported == rows
        return top - current

    peak(0, batch)  # first use: imports, caches and compiled queries are not the file's
    small, large = peak(batch, 4 * batch), peak(5 * batch, 32 * batch)

    assert large < small * 2
