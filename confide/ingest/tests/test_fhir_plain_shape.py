"""The plain lab message read without fhir.resources (`fhir_fast`) reads as fhir.resources does."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from confide.ingest.fhir_fast import read_observation, read_patient
from confide.ingest.fhir_format import _Bundle
from confide.ingest.rows import SubmittedResult
from confide.ingest.tests.samples import bundle, result_row

Change = Callable[[dict[str, Any], dict[str, Any]], object]


def _read(document: dict[str, Any], *, plain: bool) -> list[SubmittedResult]:
    return list(_Bundle(document, row=3, plain=plain).results("LAB9"))


CHANGES: dict[str, Change] = {
    "as the samples": lambda patient, obs: None,
    "effective date and time with a zone": lambda patient, obs: obs.update(
        effectiveDateTime="2021-01-09T23:30:00+01:00"
    ),
    "effective date and time in UTC": lambda patient, obs: obs.update(
        effectiveDateTime="2021-01-09T08:15:00.25Z"
    ),
    "a usual name before the official one": lambda patient, obs: patient["name"].insert(
        0, {"use": "usual", "given": ["Sam"], "family": "Other"}
    ),
    "two given names and a city": lambda patient, obs: (
        patient["name"][0]["given"].append("Jo"),
        patient["address"][0].update(city="Anytown"),
    ),
    "a work address first": lambda patient, obs: patient["address"].insert(
        0, {"use": "work", "line": ["1 Work St"], "postalCode": "AB1 2CD"}
    ),
    "gender, id and a display": lambda patient, obs: (
        patient.update(gender="female", id="p-1"),
        obs["code"]["coding"][0].update(display="SARS-CoV-2 RNA"),
    ),
    "a negative, no telecom": lambda patient, obs: (
        patient.pop("telecom"),
        obs["valueCodeableConcept"]["coding"][0].update(code="260385009"),
    ),
    "an NHS number of another system": lambda patient, obs: patient["identifier"][0].update(
        system="https://example.org/ids"
    ),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_plain_lab_message_reads_as_fhir_resources_reads_it(change: Change) -> None:
    document = bundle([result_row(4), result_row(5)])
    change(document["entry"][0]["resource"], document["entry"][1]["resource"])
    assert read_patient(document["entry"][0]["resource"]) is not None
    assert read_observation(document["entry"][1]["resource"]) is not None

    assert _read(document, plain=True) == _read(copy.deepcopy(document), plain=False)


NOT_PLAIN: dict[str, Change] = {
    "an element the shape has not": lambda patient, obs: patient.update(active=True),
    "a birth date that is no date": lambda patient, obs: patient.update(birthDate="1980-02-30"),
    "an empty given name": lambda patient, obs: patient["name"][0].update(given=[""]),
    "a name use FHIR has not": lambda patient, obs: patient["name"][0].update(use="pet"),
    "a number where text goes": lambda patient, obs: patient["telecom"][0].update(value=7700),
    "no status": lambda patient, obs: obs.pop("status"),
    "a time without a zone": lambda patient, obs: obs.update(
        effectiveDateTime="2021-01-10T10:00:00"
    ),
    "a period": lambda patient, obs: obs.update(effectivePeriod={"start": "2021-01-10"}),
    "a code with a space at the end": lambda patient, obs: obs["code"]["coding"][0].update(
        code="94500-6 "
    ),
}


@pytest.mark.parametrize("change", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_anything_else_is_left_to_fhir_resources_with_its_errors(change: Change) -> None:
    document = bundle([result_row(4)])
    change(document["entry"][0]["resource"], document["entry"][1]["resource"])
    patient, observation = (entry["resource"] for entry in document["entry"])

    assert read_patient(patient) is None or read_observation(observation) is None
    assert _read(document, plain=True) == _read(copy.deepcopy(document), plain=False)
