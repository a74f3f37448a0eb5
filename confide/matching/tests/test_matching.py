"""Finding the person we hold: exact rules on blind indexes, fuzzy rules on keyed encodings."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from confide.matching import services as matching
from confide.matching.encoding import Comparable, blocking_keys, transposition_probes
from confide.matching.models import BlockingKey, PersonEncoding
from confide.matching.services import Method, match_people
from confide.people.details import PersonDetails, validate_person_details
from confide.people.models import Person
from confide.people.selectors import find_known_person
from confide.people.services import build_person, erase_person, rectify_person, save_people
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.privacy import crypto

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 27)

AMELIA = PersonDetails(
    given_name="Amelia",
    family_name="Hartley-Jones",
    date_of_birth=date(1984, 3, 12),
    nhs_number="9434765919",
    phone="07700 900123",
    email="amelia@example.org",
    address="14 Kestrel Road, Oldham",
    postcode="OL1 3AB",
)


def clean(details: PersonDetails) -> PersonDetails:
    return validate_person_details(details, today=TODAY)


def held(details: PersonDetails = AMELIA) -> Person:
    return PersonFactory.create(details=details, today=TODAY)


def match_one(details: PersonDetails):
    return match_people([clean(details)])[0]


def test_an_nhs_number_links_on_its_own():
    amelia = held()
    outcome = match_one(PersonDetails(given_name="Millie", nhs_number="943 476 5919"))
    assert outcome.person == amelia
    assert outcome.method == Method.NHS_NUMBER


def test_a_shared_phone_links_only_with_the_same_given_name():
    amelia = held()
    same = match_one(PersonDetails(given_name="amelia", phone="+44 7700 900123"))
    sister = match_one(PersonDetails(given_name="Grace", phone="07700 900123"))
    assert (same.person, same.method) == (amelia, Method.PHONE)
    assert sister.person is None


def test_a_phone_held_by_more_people_than_a_household_links_nobody(monkeypatch):
    """A care home's landline: two residents called Amelia must not become one person."""
    monkeypatch.setattr(matching, "MAX_SHARED_CONTACT", 3)
    amelia = held()
    for given in ("Grace", "Harriet"):
        held(replace(AMELIA, given_name=given, nhs_number="", email="", postcode="M1 1AE"))
    resident = PersonDetails(given_name="Amelia", phone="07700 900123")
    assert match_one(resident).person == amelia
    held(replace(AMELIA, given_name="Olive", nhs_number="", email="", postcode="M1 1AE"))
    assert match_one(resident).person is None
    assert match_one(replace(resident, nhs_number="9434765919")).person == amelia


def test_an_nhs_number_with_two_digits_transposed_is_looked_up_not_stored():
    held_values = Comparable(given="amelia", nhs_number="9434765919")
    typed = Comparable(given="amelia", nhs_number="9434756919")
    assert set(transposition_probes(typed.nhs_number)) & set(blocking_keys(held_values))
    assert not set(transposition_probes(typed.nhs_number)) & set(blocking_keys(typed))
    # Numbers that only share their digits are not in one block (they were, by sorted digits).
    other = Comparable(given="amelia", nhs_number="9199457643")
    assert not set(blocking_keys(other)) & set(blocking_keys(held_values))


def test_a_shared_email_links_with_a_nickname_of_the_same_name():
    william = held(replace(AMELIA, given_name="William", nhs_number="", phone=""))
    outcome = match_one(PersonDetails(given_name="Bill", email="AMELIA@example.org"))
    assert (outcome.person, outcome.method) == (william, Method.EMAIL)


def test_surname_birthday_and_postcode_link_together():
    amelia = held()
    outcome = match_one(
        PersonDetails(
            given_name="Amelia",
            family_name="hartley-jones",
            date_of_birth=date(1984, 3, 12),
            postcode="ol13ab",
        )
    )
    assert (outcome.person, outcome.method) == (amelia, Method.SURNAME_DOB_POSTCODE)


def test_a_twin_is_not_linked_by_surname_birthday_and_postcode():
    held()
    twin = replace(AMELIA, given_name="Harriet", nhs_number="", phone="", email="")
    assert match_one(twin).person is None


def test_a_corrupted_copy_is_found_without_any_identifier():
    amelia = held()
    typo = replace(
        AMELIA,
        given_name="Amelai",
        family_name="Hartley Jones",
        date_of_birth=date(1984, 3, 21),
        nhs_number="",
        phone="",
        email="",
        postcode="OL1 3AD",
    )
    outcome = match_one(typo)
    assert amelia.pk in {outcome.person.pk if outcome.person else None} | {
        m.person_id for m in outcome.likely
    }


def test_a_stranger_matches_nobody():
    held()
    outcome = match_one(PersonDetailsFactory.build())
    assert (outcome.person, outcome.method, outcome.likely) == (None, "", ())


def test_matching_a_batch_takes_a_few_queries_and_decrypts_nobody(monkeypatch):
    people = [held(PersonDetailsFactory.build()) for _ in range(20)]
    unwrapped: list[object] = []
    monkeypatch.setattr(crypto, "unwrap_data_key", lambda key: unwrapped.append(key))
    batch = [clean(PersonDetailsFactory.build()) for _ in range(200)]
    with CaptureQueriesContext(connection) as queries:
        outcomes = match_people(batch)
    assert len(outcomes) == 200
    assert len(queries) <= 5, [q["sql"][:60] for q in queries.captured_queries]
    assert unwrapped == []
    assert len(people) == 20


def test_save_people_and_create_person_index_people_once():
    built = [build_person(PersonDetailsFactory.build(), today=TODAY) for _ in range(3)]
    saved = save_people(built)
    from confide.matching.services import index_new_people

    index_new_people([(p.person, p.details) for p in built if p.details is not None])
    assert PersonEncoding.objects.filter(person__in=saved).count() == 3
    keys = BlockingKey.objects.filter(person__in=saved).count()
    assert keys >= 3 * 5
    assert keys == len(set(BlockingKey.objects.values_list("key", "person_id")))


def test_rectifying_a_person_matches_their_new_details():
    amelia = held()
    rectify_person(
        person=amelia, details=replace(AMELIA, postcode="M1 1AE", nhs_number=""), today=TODAY
    )
    moved = replace(AMELIA, nhs_number="", phone="", email="", postcode="M1 1AE")
    assert match_one(moved).person == amelia


def test_an_erased_person_leaves_nothing_to_match_on():
    amelia = held()
    erase_person(person=amelia)
    assert not PersonEncoding.objects.filter(person=amelia).exists()
    assert not BlockingKey.objects.filter(person=amelia).exists()
    assert match_one(AMELIA).person is None


def test_find_known_person_keeps_the_household_rule():
    amelia = held()
    assert find_known_person(given_name="Amelia", phone="07700 900123") == amelia
    assert find_known_person(given_name="Grace", phone="07700 900123") is None
    assert find_known_person(given_name="Grace", nhs_number="9434765919") == amelia
    assert find_known_person(given_name="Grace", phone="not a phone") is None


def test_find_known_person_links_a_misspelt_contact_through_the_keyed_encodings():
    amelia = held()
    found = find_known_person(
        given_name="Amelia",
        family_name="Hartly-Jones",
        date_of_birth=date(1984, 3, 12),
        postcode="OL1 3AB",
        address="14 Kestrel Rd, Oldham",
    )
    assert found == amelia


def test_a_person_saved_before_matching_existed_still_links_by_phone_and_given_name():
    amelia = held()
    PersonEncoding.objects.filter(person=amelia).delete()
    assert find_known_person(given_name="Amelia", phone="07700 900123") == amelia
    assert find_known_person(given_name="Grace", phone="07700 900123") is None
