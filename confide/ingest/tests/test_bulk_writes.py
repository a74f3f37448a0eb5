"""The row writer imports use (confide.bulk) and the bulk people service built on it."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from confide.bulk import insert_rows
from confide.cases.models import TestResult as LabResult
from confide.ingest.models import ImportRun, ImportStatus
from confide.matching.services import match_person_ids
from confide.people.details import PersonDetails, validate_person_details
from confide.people.models import Person
from confide.people.selectors import person_details
from confide.people.services import save_new_people

pytestmark = pytest.mark.django_db

TODAY = date(2021, 2, 1)


def _details(n: int) -> PersonDetails:
    return validate_person_details(
        PersonDetails(
            given_name="Amara",
            family_name=f"Okafor{'x' * n}",
            date_of_birth=date(1985, 3, 14),
            email=f"amara{n}@example.org",
            postcode="M1 1AE",
        ),
        today=TODAY,
    )


def test_rows_written_without_instances_get_new_ids_defaults_and_the_insert_time() -> None:
    with transaction.atomic():
        first = ImportRun.objects.create(source="before", format="csv")
        ids = insert_rows(ImportRun, [{"source": "a", "format": "csv"}, {"source": "b"}])
    assert ids == [first.pk + 1, first.pk + 2]
    runs = ImportRun.objects.in_bulk(ids)
    assert [runs[i].source for i in ids] == ["a", "b"]
    assert runs[ids[1]].format == ""  # a CharField without a default, as bulk_create leaves it
    assert all(run.status == ImportStatus.RUNNING and run.received == 0 for run in runs.values())
    # A callable default is called per row; auto_now_add is the time of the insert.
    assert runs[ids[0]].reference != runs[ids[1]].reference
    assert all(run.started_at >= first.started_at for run in runs.values())


def test_rows_naming_the_same_fields_get_the_defaults_of_the_others() -> None:
    with transaction.atomic():
        ids = insert_rows(ImportRun, [{"source": "a"}, {"source": "b"}])
    runs = ImportRun.objects.in_bulk(ids)
    assert [runs[i].source for i in ids] == ["a", "b"]
    assert all(run.format == "" and run.status == ImportStatus.RUNNING for run in runs.values())
    assert runs[ids[0]].reference != runs[ids[1]].reference


def test_ids_are_never_reused_after_the_newest_rows_are_deleted() -> None:
    with transaction.atomic():
        newest = insert_rows(ImportRun, [{"source": "a", "format": "csv"}])[0]
    ImportRun.objects.filter(pk=newest).delete()
    with transaction.atomic():
        assert insert_rows(ImportRun, [{"source": "b", "format": "csv"}]) == [newest + 1]


def test_a_row_that_breaks_a_unique_constraint_raises_djangos_integrity_error() -> None:
    with transaction.atomic():
        (person_id,) = save_new_people([_details(1)])
    row = {
        "lab_code": "LAB1",
        "lab_result_id": "R1",
        "person_id": person_id,
        "outcome": "positive",
        "specimen_date": date(2021, 1, 10),
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(LabResult, [row, row])
    assert not LabResult.objects.exists()


def test_people_saved_in_bulk_are_sealed_under_their_own_keys_and_found_by_matching() -> None:
    details = [_details(1), _details(2)]
    with transaction.atomic():
        ids = save_new_people(details)
    people = Person.objects.select_related("data_key").in_bulk(ids)
    assert people[ids[0]].data_key_id != people[ids[1]].data_key_id
    assert [person_details(people[i]) for i in ids] == details
    assert [m.person_id for m in match_person_ids(details)] == ids
