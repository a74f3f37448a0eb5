"""The examples in docs/ingest.md import as the page says."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from confide.ingest.services import ingest_csv, ingest_fhir_bundle

DOC = Path(__file__).resolve().parents[3] / "docs" / "ingest.md"
pytestmark = pytest.mark.django_db


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_documented_csv_example_imports_both_results() -> None:
    report = ingest_csv(io.StringIO(_blocks("csv")[0]), source="docs")

    assert (report.imported, report.positives, report.negatives, report.errors) == (2, 1, 1, ())


def test_the_documented_error_report_is_what_the_importer_writes() -> None:
    example, errors = _blocks("csv")[:2]
    lines = example.splitlines()
    lines[2] = lines[2].replace("CR2 6XH", "M1").replace(",,01632", ",9000000107,01632")

    report = ingest_csv(io.StringIO("\n".join(lines)), source="docs")

    written = "row,field,reason\n" + "".join(
        f'{e.row},{e.field},"{e.reason}"\n'
        if "," in e.reason
        else f"{e.row},{e.field},{e.reason}\n"
        for e in report.errors
    )
    assert written == errors


def test_the_documented_fhir_example_imports_one_positive() -> None:
    report = ingest_fhir_bundle(json.loads(_blocks("json")[0]), lab_code="LAB1", source="docs")

    assert (report.imported, report.positives, report.cases_opened, report.errors) == (1, 1, 1, ())
