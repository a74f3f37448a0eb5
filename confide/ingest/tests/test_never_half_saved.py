"""Property: a batch with bad rows in it keeps nothing of the bad rows and all of the good."""

from __future__ import annotations

import io
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confide.cases.models import TestResult as LabResult
from confide.ingest.services import ingest_csv
from confide.ingest.tests.samples import result_row, write_csv
from confide.people.models import Person
from confide.people.selectors import people_by_nhs_number
from confide.privacy.models import DataKey

EXAMPLES = itertools.count()

# Corruptions that each make a row invalid, in different columns and at different stages
# (result fields, person details, dates checked against each other).
BREAK = {
    "nhs_number": "1234567890",
    "postcode": "QQ",
    "email": "@",
    "phone": "12",
    "specimen_date": "2099-12-31",
    "symptom_onset": "soon",
    "date_of_birth": "2099-01-01",
    "outcome": "unknown",
    "given_name": " ",
}


@pytest.mark.django_db
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    broken=st.dictionaries(
        st.integers(min_value=0, max_value=11), st.sampled_from(sorted(BREAK)), max_size=12
    ),
    kind=st.sampled_from(["positive", "negative"]),
)
def test_a_bad_row_leaves_nothing_behind_and_good_rows_are_all_imported(
    broken: dict[int, str], kind: str
) -> None:
    # Examples share the test's database: each uses rows (people, result ids) of its own.
    offset = next(EXAMPLES)
    before_people, before_keys = Person.objects.count(), DataKey.objects.count()
    numbers = [offset * 12 + 100_000 + i for i in range(12)]
    rows = []
    for i, n in enumerate(numbers):
        row = result_row(n, outcome=kind)
        if i in broken:
            row[broken[i]] = BREAK[broken[i]]
        rows.append(row)
    stream = io.StringIO()
    write_csv(stream, rows)
    stream.seek(0)

    report = ingest_csv(stream, source="test")

    good = [row for i, row in enumerate(rows) if i not in broken]
    bad = [row for i, row in enumerate(rows) if i in broken]
    assert report.imported + report.duplicates == len(good)
    assert {e.row - 2 for e in report.errors} == set(broken)
    for row in bad:
        assert not LabResult.objects.filter(lab_result_id=row["lab_result_id"]).exists()
        if broken[rows.index(row)] != "nhs_number":
            assert not people_by_nhs_number(row["nhs_number"]).exists()
    for row in good:
        assert LabResult.objects.filter(lab_result_id=row["lab_result_id"]).exists()
    new_people = Person.objects.count() - before_people
    assert new_people <= report.imported
    assert DataKey.objects.count() - before_keys == new_people
