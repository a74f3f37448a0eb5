"""Importing FHIR R4 Bundles: Patient + Observation (or DiagnosticReport), resolved by fullUrl."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from confide.cases.models import Case
from confide.cases.models import TestResult as LabResult
from confide.ingest.services import ingest_fhir_bundle, ingest_fhir_file, result_status
from confide.ingest.tests.samples import bundle, ndjson_file, patient_resource, result_row
from confide.people.selectors import people_by_nhs_number, person_details

pytestmark = pytest.mark.django_db


def test_a_transaction_bundle_of_patients_and_observations_is_imported() -> None:
    rows = [result_row(1), result_row(2, outcome="negative")]

    report = ingest_fhir_bundle(bundle(rows), lab_code="LAB9", source="test")

    assert (report.received, report.imported, report.positives, report.negatives) == (2, 2, 1, 1)
    assert report.cases_opened == 1
    assert report.errors == ()
    details = person_details(people_by_nhs_number(rows[0]["nhs_number"]).get())
    assert (details.given_name, details.email, details.postcode) == (
        rows[0]["given_name"],
        rows[0]["email"],
        rows[0]["postcode"],
    )
    assert details.phone.startswith("+44")
    result = LabResult.objects.get(lab_result_id=rows[0]["lab_result_id"])
    assert (result.lab_code, result.test_code, result.outcome) == ("LAB9", "94500-6", "positive")


def test_sending_the_same_bundle_again_changes_nothing() -> None:
    sent = bundle([result_row(n) for n in range(3)])
    ingest_fhir_bundle(sent, lab_code="LAB9", source="test")

    again = ingest_fhir_bundle(sent, lab_code="LAB9", source="test")

    assert (again.imported, again.duplicates) == (0, 3)
    assert LabResult.objects.count() == 3
    assert Case.objects.count() == 3


def test_a_collection_bundle_with_a_diagnostic_report_is_read_through_the_report() -> None:
    row = result_row(3)
    document = bundle([row], kind="collection")
    observation_url = document["entry"][1]["fullUrl"]
    document["entry"].append(
        {
            "fullUrl": "urn:uuid:report-1",
            "resource": {
                "resourceType": "DiagnosticReport",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "94500-6"}]},
                "subject": {"reference": document["entry"][0]["fullUrl"]},
                "result": [{"reference": observation_url}],
            },
        }
    )

    report = ingest_fhir_bundle(document, lab_code="LAB9", source="test")

    assert (report.imported, report.positives) == (1, 1)  # not counted twice


def test_a_diagnostic_report_with_a_conclusion_code_is_a_result_by_itself() -> None:
    row = result_row(4)
    patient_url = "urn:uuid:p"
    document = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": patient_url, "resource": patient_resource(row)},
            {
                "fullUrl": "urn:uuid:r",
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "status": "final",
                    "identifier": [{"value": "DR-1"}],
                    "code": {"coding": [{"system": "http://loinc.org", "code": "94309-2"}]},
                    "subject": {"reference": patient_url},
                    "effectiveDateTime": "2021-01-10T09:30:00+00:00",
                    "conclusionCode": [
                        {"coding": [{"system": "http://snomed.info/sct", "code": "260373001"}]}
                    ],
                },
            },
        ],
    }

    report = ingest_fhir_bundle(document, lab_code="LAB9", source="test")

    assert (report.imported, report.positives, report.cases_opened) == (1, 1, 1)
    status = result_status(lab_code="LAB9", lab_result_id="DR-1")
    assert status is not None
    assert (status.outcome, status.case_status) == ("positive", "new")


def _errors(document: dict[str, Any]) -> list[tuple[int, str, str]]:
    report = ingest_fhir_bundle(document, lab_code="LAB9", source="test")
    return [(e.row, e.field, e.reason) for e in report.errors]


def test_an_invalid_patient_rejects_its_result_and_names_the_element() -> None:
    good, bad = result_row(5), result_row(6)
    document = bundle([good, bad])
    document["entry"][2]["resource"]["birthDate"] = "1980-13-45"

    errors = _errors(document)

    assert [(row, field) for row, field, _reason in errors] == [(1, "entry[2].Patient.birthDate")]
    assert "1980-13-45" not in errors[0][2]
    assert LabResult.objects.get().lab_result_id == good["lab_result_id"]


def test_a_valid_fhir_patient_with_a_wrong_nhs_number_names_the_identifier() -> None:
    document = bundle([{**result_row(7), "nhs_number": "1234567890"}])

    assert _errors(document) == [
        (
            1,
            "entry[0].Patient.identifier(nhs-number)",
            "Enter a valid NHS number: the check digit does not match",
        )
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda obs: obs["code"]["coding"][0].update(code="12345-6"), "entry[1].Observation.code"),
        (
            lambda obs: obs.update(valueCodeableConcept={"text": "yes"}),
            "entry[1].Observation.valueCodeableConcept",
        ),
        (
            lambda obs: obs.update(subject={"reference": "urn:uuid:nobody"}),
            "entry[1].Observation.subject",
        ),
        (lambda obs: obs.pop("identifier"), "entry[1].Observation.identifier"),
        (lambda obs: obs.pop("effectiveDateTime"), "entry[1].Observation.effectiveDateTime"),
        (
            lambda obs: obs.update(effectiveDateTime="yesterday"),
            "entry[1].Observation.effectiveDateTime",
        ),
    ],
)
def test_an_unusable_observation_is_rejected_with_the_element_named(
    change: Any, field: str
) -> None:
    document = bundle([result_row(8)])
    change(document["entry"][1]["resource"])

    errors = _errors(document)

    assert [f for _row, f, _reason in errors] == [field]
    assert LabResult.objects.count() == 0


def test_something_that_is_not_a_bundle_is_one_rejected_row() -> None:
    assert _errors({"resourceType": "Patient"}) == [(1, "Bundle", "Send a FHIR Bundle")]
    assert _errors({"resourceType": "Bundle", "type": "searchset"}) == [
        (1, "Bundle.type", "Send a transaction, batch or collection Bundle")
    ]


def test_an_ndjson_file_of_bundles_is_streamed_and_rows_are_its_lines(tmp_path: Path) -> None:
    bundles = [bundle([result_row(10 + n)]) for n in range(3)]
    broken = copy.deepcopy(bundles[1])
    broken["entry"][1]["resource"]["code"]["coding"][0]["code"] = "0000-0"
    path = ndjson_file(tmp_path / "results.ndjson", [bundles[0], broken, bundles[2]])

    report = ingest_fhir_file(path, lab_code="LAB9", source="test")

    assert report.imported == 2
    assert [(e.row, e.field) for e in report.errors] == [(2, "entry[1].Observation.code")]


def test_a_single_pretty_printed_bundle_file_is_read(tmp_path: Path) -> None:
    import json

    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle([result_row(20), result_row(21)]), indent=2))

    report = ingest_fhir_file(path, lab_code="LAB9", source="test")

    assert report.imported == 2


def test_result_status_is_none_for_a_result_never_received() -> None:
    assert result_status(lab_code="LAB9", lab_result_id="nope") is None


@pytest.mark.parametrize("result", ["x", ["x"], [None, 3], {"reference": "y"}])
def test_a_diagnostic_report_with_a_malformed_result_list_is_a_rejected_row(result: Any) -> None:
    document = bundle([result_row(12)])
    document["entry"].append(
        {
            "fullUrl": "urn:uuid:report-1",
            "resource": {"resourceType": "DiagnosticReport", "status": "final", "result": result},
        }
    )
    document["entry"].append({"fullUrl": "urn:uuid:junk", "resource": "not a resource"})

    errors = _errors(document)

    assert errors, "the malformed report is reported, not a server error"
    assert all(isinstance(row, int) and field for row, field, _reason in errors)
