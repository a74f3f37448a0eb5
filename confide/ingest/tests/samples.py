"""Synthetic lab results as CSV rows and FHIR Bundles, for tests and bench/ingest.py.

Deterministic and fast (a million rows in seconds), and never a real person: NHS numbers from
the unissued 9xx range, phones from Ofcom's drama ranges, emails at example.org. Row n and row
m (n != m, both under 150,000) never share an NHS number or an email, and never share a
phone *and* a first name, so matching has no reason to join them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

from confide.ingest.csv_format import COLUMNS
from confide.people.tests.factories import valid_nhs_number

SYLLABLES = [
    "al",
    "ba",
    "ca",
    "de",
    "el",
    "fa",
    "ga",
    "ha",
    "in",
    "jo",
    "ka",
    "le",
    "ma",
    "ne",
    "ol",
    "pa",
    "ri",
    "sa",
    "ta",
    "ul",
    "va",
    "wy",
    "ya",
    "zo",
    "ber",
]
STREETS = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Park Avenue",
    "Victoria Road",
    "Queens Drive",
    "Castle Way",
    "Bridge Street",
    "Orchard Close",
    "Meadow View",
    "School Lane",
    "Chapel Row",
    "Market Place",
]
TOWNS = ("Anytown", "Llanfach", "Kingsbridge", "Northwick", "Eastcombe", "Westford")


def _name(n: int, syllables: int) -> str:
    """A made-up, pronounceable name: n written in base 25 with syllables for digits."""
    parts = []
    for _ in range(syllables):
        n, digit = divmod(n, len(SYLLABLES))
        parts.append(SYLLABLES[digit])
    return "".join(parts).capitalize()


DRAMA_PHONES = ("07700 900", "01632 960", "020 7946 0", "0113 496 0", "0161 496 0")
SPECIMEN_DATE = date(2021, 1, 10)
# Outward areas and the letters an inward code may use: postcodes of the right shape.
POSTCODE_AREAS = ("M", "B", "LS", "CR", "DN", "EH", "NE", "BS", "CF", "SA", "NG", "L")
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def sample_postcode(household: int) -> str:
    """About one postcode per household, as in life (a postcode holds ~15 addresses): a few
    shared postcodes would make every person a candidate match for every other."""
    area = POSTCODE_AREAS[household % len(POSTCODE_AREAS)]
    rest, district = divmod(household // len(POSTCODE_AREAS), 40)
    rest, sector = divmod(rest, 10)
    rest, first = divmod(rest, len(INWARD_LETTERS))
    second = INWARD_LETTERS[rest % len(INWARD_LETTERS)]
    return f"{area}{district + 1} {sector}{INWARD_LETTERS[first]}{second}"


def sample_nhs_number(n: int) -> str:
    """A valid synthetic NHS number, its digits spread like real ones (consecutive n in
    valid_nhs_number's series share most digits, and matching looks up transposed digits)."""
    return valid_nhs_number(n * 48_271 % 10_000_000)  # a bijection on 0..10^7 - 1


def result_row(n: int, *, lab_code: str = "LAB1", outcome: str = "positive") -> dict[str, str]:
    phone_prefix = DRAMA_PHONES[(n // 1000) % len(DRAMA_PHONES)]
    return {
        "lab_code": lab_code,
        "lab_result_id": f"R{n:08d}",
        "outcome": outcome,
        "specimen_date": SPECIMEN_DATE.isoformat(),
        "test_code": "94500-6",
        "symptom_onset": (SPECIMEN_DATE - timedelta(days=2)).isoformat() if n % 3 == 0 else "",
        "given_name": _name(n // 5000 + 3 * n, 2),
        "family_name": _name(n * 7919 % 390_625, 4),
        "date_of_birth": (date(1940, 1, 1) + timedelta(days=n * 37 % 25_000)).isoformat(),
        "nhs_number": sample_nhs_number(n),
        "phone": f"{phone_prefix}{n % 1000:03d}",
        "email": f"person{n}@example.org",
        "address": (
            f"{n % 211 + 1} {STREETS[n // 211 % len(STREETS)]}, {TOWNS[n // 2954 % len(TOWNS)]}"
        ),
        "postcode": sample_postcode(n // 3),
    }


def write_csv(stream: TextIO, rows: Iterable[dict[str, str]]) -> None:
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)


def csv_file(path: Path, rows: Iterable[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        write_csv(handle, rows)
    return path


SNOMED_OF = {"positive": "10828004", "negative": "260385009", "void": "419984006"}


def patient_resource(row: dict[str, str]) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": row["nhs_number"]}],
        "name": [{"use": "official", "given": [row["given_name"]], "family": row["family_name"]}],
        "birthDate": row["date_of_birth"],
        "telecom": [
            {"system": "phone", "value": row["phone"]},
            {"system": "email", "value": row["email"]},
        ],
        "address": [{"use": "home", "line": [row["address"]], "postalCode": row["postcode"]}],
    }


def observation_resource(row: dict[str, str], *, patient_url: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [
            {"system": "https://lab.example.org/results", "value": row["lab_result_id"]}
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": row["test_code"]}]},
        "subject": {"reference": patient_url},
        "effectiveDateTime": row["specimen_date"],
        "valueCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": SNOMED_OF[row["outcome"]]}]
        },
    }


def bundle(rows: Iterable[dict[str, str]], *, kind: str = "transaction") -> dict[str, Any]:
    """A Bundle with a Patient and an Observation per row, referenced by fullUrl."""
    entries: list[dict[str, Any]] = []
    for row in rows:
        patient_url = f"urn:uuid:patient-{row['lab_result_id']}"
        entries.append({"fullUrl": patient_url, "resource": patient_resource(row)})
        entries.append(
            {
                "fullUrl": f"urn:uuid:observation-{row['lab_result_id']}",
                "resource": observation_resource(row, patient_url=patient_url),
            }
        )
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def ndjson_file(path: Path, bundles: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for item in bundles:
            handle.write(json.dumps(item, separators=(",", ":")) + "\n")
    return path


def chunks(rows: Iterable[dict[str, str]], size: int) -> Iterator[list[dict[str, str]]]:
    batch: list[dict[str, str]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
