"""The supervisors' import pages and `confide import-results`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from confide.cases.models import TestResult as LabResult
from confide.ingest.models import ImportRun, ImportStatus
from confide.ingest.services import ingest_csv
from confide.ingest.tests.samples import bundle, csv_file, ndjson_file, result_row, write_csv
from confide.staff.models import Role
from confide.staff.tests.factories import StaffMemberFactory
from confide.workspace.tests.conftest import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor_client(settings: object) -> Client:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
    return sign_in(Client(), StaffMemberFactory.create(role=Role.SUPERVISOR))


def _run_with_bad_rows() -> ImportRun:
    rows = [
        result_row(1),
        {**result_row(2), "postcode": "nowhere"},
        {**result_row(3), "outcome": "?"},
    ]
    stream = io.StringIO()
    write_csv(stream, rows)
    stream.seek(0)
    report = ingest_csv(stream, source="cli")
    return ImportRun.objects.get(reference=report.run_reference)


def test_supervisors_see_each_run_with_its_counts(supervisor_client: Client) -> None:
    run = _run_with_bad_rows()

    page = supervisor_client.get("/supervise/imports/").content.decode()

    assert "Imported results" in page
    assert f"/supervise/imports/{run.reference}/errors.csv" in page
    assert result_row(2)["given_name"] not in page


def test_the_error_report_lists_row_field_and_reason_and_no_values(
    supervisor_client: Client,
) -> None:
    run = _run_with_bad_rows()

    response = supervisor_client.get(f"/supervise/imports/{run.reference}/errors.csv")

    assert response["Content-Type"] == "text/csv"
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert list(csv.reader(io.StringIO(body))) == [
        ["row", "field", "reason"],
        ["3", "postcode", "Enter a real UK postcode, like SW1A 1AA"],
        ["4", "outcome", "Enter the outcome as positive, negative or void"],
    ]
    assert "nowhere" not in body


def test_an_unknown_run_has_no_error_report(supervisor_client: Client) -> None:
    response = supervisor_client.get(
        "/supervise/imports/00000000-0000-0000-0000-000000000000/errors.csv"
    )

    assert response.status_code == 404


def test_the_command_imports_a_csv_and_writes_the_error_report(tmp_path: Path) -> None:
    rows = [result_row(1), result_row(2), {**result_row(3), "email": "nope"}]
    path = csv_file(tmp_path / "results.csv", rows)
    out = io.StringIO()

    call_command("import-results", str(path), stdout=out)

    text = out.getvalue()
    assert "2 imported" in text
    assert "1 rejected" in text
    report = tmp_path / "results.csv.errors.csv"
    assert str(report) in text
    assert report.read_text().splitlines()[1].startswith("4,email,")
    assert LabResult.objects.count() == 2


def test_the_command_imports_an_ndjson_fhir_file_for_a_lab(tmp_path: Path) -> None:
    path = ndjson_file(
        tmp_path / "results.ndjson", [bundle([result_row(5)]), bundle([result_row(6)])]
    )
    out = io.StringIO()

    call_command("import-results", str(path), "--lab", "LAB7", stdout=out)

    assert "2 imported" in out.getvalue()
    assert set(LabResult.objects.values_list("lab_code", flat=True)) == {"LAB7"}


def test_the_command_can_parse_and_validate_in_a_helper_process(tmp_path: Path) -> None:
    path = ndjson_file(
        tmp_path / "results.ndjson", [bundle([result_row(5)]), bundle([result_row(6)])]
    )
    out = io.StringIO()

    call_command("import-results", str(path), "--lab", "LAB7", "--workers", "1", stdout=out)

    assert "2 imported" in out.getvalue()
    assert LabResult.objects.count() == 2


def test_an_unreadable_file_is_a_command_error_that_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_text("name,date\nAnn,2021-01-01\n")

    with pytest.raises(CommandError, match=r"docs/ingest\.md"):
        call_command("import-results", str(path), stdout=io.StringIO())

    assert ImportRun.objects.get().status == ImportStatus.FAILED


def test_a_missing_file_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not a file"):
        call_command("import-results", str(tmp_path / "missing.csv"), stdout=io.StringIO())
