"""A raw dump of the database after imports (good and bad rows) shows no personal data."""

from __future__ import annotations

import io

import pytest
from django.db import connection

from confide.ingest.models import ImportRowError
from confide.ingest.services import ingest_csv, ingest_fhir_bundle
from confide.ingest.tests.samples import bundle, result_row, write_csv
from tests.test_no_plaintext_at_rest import (
    _forms_of_personal_values,
    _leaks,
    _raw_database_bytes,
)


@pytest.mark.django_db(transaction=True)
def test_a_raw_dump_after_imports_contains_no_personal_data() -> None:
    rows = [result_row(n) for n in range(40)]
    # Bad rows too: their values must not reach the error rows.
    rows += [{**result_row(40 + n), "postcode": "ZZ9 9ZZZ", "outcome": "?"} for n in range(5)]
    stream = io.StringIO()
    write_csv(stream, rows)
    stream.seek(0)
    ingest_csv(stream, source="test")
    ingest_fhir_bundle(bundle([result_row(n) for n in range(50, 60)]), lab_code="L", source="t")
    assert ImportRowError.objects.count() == 10
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    values = _forms_of_personal_values()
    for row in rows[40:]:
        values |= {row["given_name"], row["family_name"], row["email"], row["nhs_number"]}
    assert len(values) > 300

    assert _leaks(_raw_database_bytes(), values) == []
