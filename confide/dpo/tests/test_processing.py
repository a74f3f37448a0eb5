from __future__ import annotations

import pytest

from confide.dpo.processing import DECLARATIONS, personal_fields_in_code, records_of_processing
from confide.dpo.tests.conftest import sign_in
from confide.people.models import PERSON_SEALED_FIELDS
from confide.staff.models import StaffMember


def test_every_personal_field_in_the_code_is_declared() -> None:
    undeclared = [
        f"{label}.{name}"
        for label, name, _ in personal_fields_in_code()
        if (label, name) not in DECLARATIONS
    ]

    assert undeclared == [], (
        "declare the purpose, lawful basis, retention and access of each new personal field "
        f"in confide/dpo/processing.py DECLARATIONS: {undeclared}"
    )


def test_no_declaration_names_a_field_the_code_no_longer_has() -> None:
    in_code = {(label, name) for label, name, _ in personal_fields_in_code()}

    assert set(DECLARATIONS) - in_code == set()


def test_the_records_cover_every_sealed_person_field() -> None:
    fields = {r.field for r in records_of_processing() if r.model == "people.Person"}

    assert {name.replace("_", " ") for name in PERSON_SEALED_FIELDS} <= fields


@pytest.mark.django_db
def test_the_page_lists_each_field_with_its_retention(dpo: StaffMember, settings: object) -> None:
    page = sign_in(dpo).get("/dpo/records-of-processing/").content.decode()

    assert "Person: nhs number" in page
    assert "7 days after sending" in page
    assert "Not declared" not in page
