"""A helper process (`ingest.parallel`) imports exactly what this process imports alone: the
same rows, in order, the same row-level errors, and rows before an unreadable point."""

from __future__ import annotations

import copy
import io
import os
from pathlib import Path

import pytest

from confide.cases.models import Case
from confide.cases.models import TestResult as LabResult
from confide.ingest import parallel, services
from confide.ingest.models import ImportRowError, ImportRun, ImportStatus
from confide.ingest.services import IngestReport, UnreadableFile, ingest_csv, ingest_fhir_file
from confide.ingest.tests.samples import bundle, csv_file, ndjson_file, result_row, write_csv
from confide.ingest.tests.test_csv import CORRUPTIONS, corrupt
from confide.people.models import Person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several chunks in flight and several batches, in a file small enough to be quick."""
    monkeypatch.setattr(parallel, "CSV_ROWS_PER_CHUNK", 40)
    monkeypatch.setattr(parallel, "FHIR_BYTES_PER_CHUNK", 20_000)
    monkeypatch.setattr(parallel, "IN_FLIGHT", 2)
    monkeypatch.setattr(services, "BATCH_SIZE", 90)


def counts(report: IngestReport) -> tuple[int, ...]:
    return (
        report.received,
        report.imported,
        report.duplicates,
        report.rejected,
        report.positives,
        report.cases_opened,
    )


@pytest.mark.parametrize("workers", [0, 1])
def test_a_csv_with_bad_and_repeated_rows_imports_the_same_with_or_without_a_helper(
    workers: int,
) -> None:
    rows = [result_row(n) for n in range(400)]
    expected = corrupt(rows, first=5, every=31)
    rows.append(rows[399])  # the same result twice in one file
    stream = io.StringIO()
    write_csv(stream, rows)

    stream.seek(0)
    report = ingest_csv(stream, source="test", workers=workers)
    stream.seek(0)
    again = ingest_csv(stream, source="test", workers=workers)

    good = 400 - len(CORRUPTIONS)
    assert counts(report) == (401, good, 1, len(CORRUPTIONS), good, good)
    assert [(e.row, e.field, e.reason) for e in report.errors] == expected
    assert counts(again) == (401, 0, good + 1, len(CORRUPTIONS), 0, 0)
    assert LabResult.objects.count() == Person.objects.count() == Case.objects.count() == good
    stored = ImportRowError.objects.filter(run__reference=report.run_reference)
    assert sorted(stored.values_list("row", "field", "reason")) == expected


@pytest.mark.parametrize("workers", [0, 1])
def test_an_ndjson_file_imports_the_same_with_or_without_a_helper(
    tmp_path: Path, workers: int
) -> None:
    bundles = [bundle([result_row(10 * b + n) for n in range(10)]) for b in range(30)]
    broken = copy.deepcopy(bundles[12])
    broken["entry"][3]["resource"]["code"]["coding"][0]["code"] = "0000-0"
    bundles[12] = broken
    path = ndjson_file(tmp_path / "results.ndjson", bundles)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n{not json\n")

    report = ingest_fhir_file(path, lab_code="LAB9", source="test", workers=workers)

    assert counts(report) == (301, 299, 0, 2, 299, 299)
    assert [(e.row, e.field) for e in report.errors] == [
        (13, "entry[3].Observation.code"),
        (32, "Bundle"),
    ]


@pytest.mark.parametrize("workers", [0, 1])
def test_rows_before_an_unreadable_point_are_imported_with_or_without_a_helper(
    tmp_path: Path, workers: int
) -> None:
    path = csv_file(tmp_path / "results.csv", (result_row(n) for n in range(300)))
    with path.open("ab") as handle:
        handle.write(b"LAB1,R9,positive,2021-01-10,94500-6,,\xff\xfe,x,,,,,,\n")

    with path.open(encoding="utf-8") as stream, pytest.raises(UnreadableFile):
        ingest_csv(stream, source="test", workers=workers)

    # The text reader decodes a few kilobytes ahead, so reading fails a little before the bad
    # line; the whole batches read before that are imported, and nothing after.
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.FAILED
    assert run.imported == LabResult.objects.count() == 180
    imported = set(LabResult.objects.values_list("lab_result_id", flat=True))
    assert imported == {result_row(n)["lab_result_id"] for n in range(180)}


@pytest.mark.parametrize(
    ("cores", "load", "expected"),
    [({0, 1}, 1.0, 1), ({0, 1}, 3.0, 0), ({0}, 0.0, 0), ({0, 1, 2, 3}, 3.0, 1)],
)
def test_a_helper_is_used_by_default_only_when_a_second_core_is_there_and_free(
    monkeypatch: pytest.MonkeyPatch, cores: set[int], load: float, expected: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cores, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert parallel.default_workers() == expected
