"""Exact lookups through blind indexes: the right person, one query, nothing decrypted."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from confide.people.selectors import (
    lookup_or_none,
    people_by_email,
    people_by_nhs_number,
    people_by_phone,
    person_details,
)
from confide.people.tests.factories import PersonFactory
from confide.privacy import crypto
from confide.privacy.blind_index import IndexKind, blind_index

pytestmark = pytest.mark.django_db

# (lookup, index kind, index column, the value as typed, the value as stored)
LOOKUPS = [
    (people_by_nhs_number, IndexKind.NHS_NUMBER, "nhs_number_index", "943 476 5919", "9434765919"),
    (
        people_by_email,
        IndexKind.EMAIL,
        "email_index",
        "Wanted.Person@Example.ORG",
        "wanted.person@example.org",
    ),
    (people_by_phone, IndexKind.PHONE, "phone_index", "+44 7700 900555", "+447700900555"),
]
LOOKUP_IDS = ["nhs_number", "email", "phone"]


@pytest.fixture
def crowd():
    """Thirty people with their own identifiers, and the one we look for."""
    others = PersonFactory.create_batch(30)
    wanted = PersonFactory.create(
        details__nhs_number="9434765919",
        details__email="wanted.person@example.org",
        details__phone="07700 900 555",
    )
    return wanted, others


@pytest.fixture
def unwraps(monkeypatch):
    """Every data key unwrapped from here on (each module's own reference is wrapped)."""
    calls = []
    real = crypto.unwrap_data_key

    def counting_unwrap(data_key):
        calls.append(data_key.pk)
        return real(data_key)

    for module in (
        "confide.privacy.crypto",
        "confide.people.selectors",
        "confide.people.services",
        "confide.staff.services",
    ):
        monkeypatch.setattr(f"{module}.unwrap_data_key", counting_unwrap)
    return calls


@pytest.mark.parametrize(("lookup", "kind", "column", "typed", "stored"), LOOKUPS, ids=LOOKUP_IDS)
def test_a_lookup_finds_exactly_the_right_person_among_many(
    crowd, lookup, kind, column, typed, stored
):
    wanted, _ = crowd

    assert list(lookup(typed)) == [wanted]


@pytest.mark.parametrize(("lookup", "kind", "column", "typed", "stored"), LOOKUPS, ids=LOOKUP_IDS)
def test_a_lookup_is_one_query_filtering_on_the_blind_index(
    crowd, lookup, kind, column, typed, stored
):
    with CaptureQueriesContext(connection) as queries:
        found = list(lookup(typed))

    assert len(found) == 1
    assert len(queries.captured_queries) == 1
    sql = queries.captured_queries[0]["sql"]
    where = sql[sql.upper().index(" WHERE ") :]
    digest = blind_index(kind, stored)
    assert digest is not None
    assert column in where
    assert digest in where


@pytest.mark.parametrize(("lookup", "kind", "column", "typed", "stored"), LOOKUPS, ids=LOOKUP_IDS)
def test_a_lookup_decrypts_nobody(crowd, unwraps, lookup, kind, column, typed, stored):
    found = list(lookup(typed))

    assert len(found) == 1
    assert unwraps == []


def test_reading_the_person_found_unwraps_only_their_data_key(crowd, unwraps):
    wanted, _ = crowd
    found = people_by_email("wanted.person@example.org").get()

    details = person_details(found)

    assert details.email == "wanted.person@example.org"
    assert unwraps == [wanted.data_key_id]


@pytest.mark.parametrize(("lookup", "kind", "column", "typed", "stored"), LOOKUPS, ids=LOOKUP_IDS)
def test_a_lookup_for_someone_not_known_finds_nobody(crowd, lookup, kind, column, typed, stored):
    unknown = {
        people_by_nhs_number: "485 777 3457",
        people_by_email: "nobody@example.org",
        people_by_phone: "07700 900 999",
    }[lookup]

    assert list(lookup(unknown)) == []


def test_every_person_sharing_an_nhs_number_is_found():
    first = PersonFactory.create(details__nhs_number="9434765919")
    duplicate = PersonFactory.create(details__nhs_number="943-476-5919")
    PersonFactory.create_batch(3)

    assert set(people_by_nhs_number("9434765919")) == {first, duplicate}


def test_a_lookup_with_an_invalid_value_is_a_validation_error(crowd):
    with pytest.raises(ValidationError):
        people_by_nhs_number("123")


def test_lookup_or_none_finds_the_person(crowd):
    wanted, _ = crowd

    assert lookup_or_none("email", "WANTED.PERSON@example.org") == wanted


@pytest.mark.parametrize(("lookup", "value"), [("email", "not an email"), ("nhs_number", "123")])
def test_lookup_or_none_treats_an_invalid_value_as_nobody(crowd, lookup, value):
    assert lookup_or_none(lookup, value) is None


def test_a_lookup_returns_people_ready_to_decrypt_without_another_query(crowd):
    found = people_by_phone("07700 900 555").get()

    with CaptureQueriesContext(connection) as queries:
        person_details(found)

    assert queries.captured_queries == []
