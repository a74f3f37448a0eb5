"""Results over the API: a lab submits as itself and reads only its own submissions."""

from __future__ import annotations

import pytest

from confide.api.tests.conftest import Caller, MakeCaller
from confide.cases.models import Case
from confide.cases.models import TestResult as LabResult
from confide.ingest.tests.samples import bundle, result_row
from confide.privacy.models import AccessAction, AccessEvent

pytestmark = pytest.mark.django_db


def _json_row(n: int) -> dict[str, str]:
    row = result_row(n)
    del row["lab_code"]
    return row


@pytest.fixture
def lab(make_caller: MakeCaller) -> Caller:
    return make_caller("results:submit", lab_code="LABA")


def test_json_rows_are_imported_under_the_tokens_lab_and_opening_cases(lab: Caller) -> None:
    response = lab.post("/api/results", {"rows": [_json_row(1), _json_row(2)]})
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["imported"] == 2
    assert report["cases_opened"] == 2
    assert set(LabResult.objects.values_list("lab_code", flat=True)) == {"LABA"}


def test_a_row_cannot_submit_as_another_lab(lab: Caller) -> None:
    row = {**_json_row(1), "lab_code": "OTHER"}
    response = lab.post("/api/results", {"rows": [row]})
    assert response.status_code == 200
    assert list(LabResult.objects.values_list("lab_code", flat=True)) == ["LABA"]


def test_sending_the_same_rows_twice_changes_nothing(lab: Caller) -> None:
    rows = [_json_row(n) for n in range(3)]
    lab.post("/api/results", {"rows": rows})
    again = lab.post("/api/results", {"rows": rows}).json()
    assert again["imported"] == 0
    assert again["duplicates"] == 3
    assert LabResult.objects.count() == 3
    assert Case.objects.count() == 3


def test_a_bad_row_is_reported_by_its_position_and_the_others_imported(lab: Caller) -> None:
    bad = {**_json_row(2), "specimen_date": "yesterday"}
    report = lab.post("/api/results", {"rows": [_json_row(1), bad, _json_row(3)]}).json()
    assert report["imported"] == 2
    assert report["rejected"] == 1
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(1, "specimen_date")]
    assert "yesterday" not in str(report)


def test_a_fhir_bundle_is_imported(lab: Caller) -> None:
    rows = [result_row(n, lab_code="ignored") for n in range(2)]
    response = lab.post("/api/fhir/Bundle", bundle(rows))
    assert response.status_code == 200, response.content
    assert response.json()["imported"] == 2
    assert set(LabResult.objects.values_list("lab_code", flat=True)) == {"LABA"}


def test_a_lab_reads_the_status_of_its_own_result(lab: Caller) -> None:
    lab.post("/api/results", {"rows": [_json_row(7)]})
    response = lab.get("/api/results/R00000007")
    assert response.status_code == 200
    status = response.json()
    assert status["outcome"] == "positive"
    assert status["case_status"] == "new"
    assert set(status) == {
        "lab_result_id",
        "outcome",
        "specimen_date",
        "received_at",
        "case_reference",
        "case_status",
    }


def test_another_labs_result_is_not_found(lab: Caller, make_caller: MakeCaller) -> None:
    lab.post("/api/results", {"rows": [_json_row(7)]})
    other = make_caller("results:submit", lab_code="LABB")
    response = other.get("/api/results/R00000007")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_submitting_and_reading_results_is_in_the_access_log(lab: Caller) -> None:
    lab.post("/api/results", {"rows": [_json_row(1), _json_row(2)]})
    lab.post("/api/results", {"rows": [_json_row(1)]})  # a duplicate writes nothing
    lab.get("/api/results/R00000001")
    events = AccessEvent.objects.filter(actor_reference=lab.client.reference).order_by("sequence")
    assert [e.action for e in events] == [
        AccessAction.CREATE,
        AccessAction.CREATE,
        AccessAction.VIEW,
    ]
    people = set(LabResult.objects.values_list("person__reference", flat=True))
    assert {e.subject_reference for e in events} == people
