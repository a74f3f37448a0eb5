"""Properties of matching: a corrupted copy of a person is still found; another member of
their household is never linked automatically."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from confide.matching.encoding import blocking_keys, encode
from confide.matching.scoring import compare
from confide.matching.services import comparable, match_people
from confide.matching.tests.corruptions import NICKNAME_OF, swap_day_digits, typo
from confide.people.details import PersonDetails
from confide.people.services import create_person

GIVEN = [
    "William",
    "Elizabeth",
    "Margaret",
    "Robert",
    "Catherine",
    "Thomas",
    "Olusegun",
    "Priya",
    "Siobhan",
    "Dafydd",
    "Mohammed",
    "Grace",
    "Hamish",
    "Ayesha",
    "Declan",
]
FAMILY = [
    "Smith",
    "Okonkwo",
    "Hartley-Jones",
    "Patel",
    "O'Brien",
    "Nowak",
    "Llewellyn",
    "MacDonald",
    "Thompson",
    "Khan",
    "Fitzgerald",
    "Williamson",
]
POSTCODES = ["SW1A 1AA", "EC1A 1BB", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "LS1 4AP"]
STREETS = ["Kestrel Road, Oldham", "Church Lane, Ely", "High Street, Bangor", "Mill Way, Leeds"]

people = st.builds(
    PersonDetails,
    given_name=st.sampled_from(GIVEN),
    family_name=st.sampled_from(FAMILY),
    date_of_birth=st.dates(min_value=date(1930, 1, 1), max_value=date(2015, 12, 31)),
    address=st.builds(lambda n, s: f"{n} {s}", st.integers(1, 300), st.sampled_from(STREETS)),
    postcode=st.sampled_from(POSTCODES),
)


@st.composite
def corrupted(draw: st.DrawFn) -> tuple[PersonDetails, PersonDetails]:
    """A person and a copy with up to two of the errors seen in real records."""
    person = draw(people)
    copy = person
    errors = draw(st.sets(st.sampled_from(["dob", "surname", "nickname", "postcode"]), max_size=2))
    assert person.date_of_birth is not None
    if "dob" in errors:
        copy = replace(copy, date_of_birth=swap_day_digits(person.date_of_birth))
    if "surname" in errors:
        at, kind = draw(st.integers(0, 20)), draw(st.integers(0, 3))
        copy = replace(copy, family_name=typo(person.family_name, at, kind))
    if "nickname" in errors and person.given_name.lower() in NICKNAME_OF:
        copy = replace(copy, given_name=NICKNAME_OF[person.given_name.lower()].title())
    if "postcode" in errors:
        copy = replace(copy, postcode=draw(st.sampled_from(POSTCODES)))
    return person, copy


@given(corrupted())
@settings(max_examples=300, deadline=None)
def test_a_corrupted_copy_shares_a_blocking_key_and_scores_likely_or_sure(pair):
    person, copy = pair
    a, b = comparable(person), comparable(copy)
    assert set(blocking_keys(a)) & set(blocking_keys(b))
    comparison = compare(encode(a), encode(b))
    assert comparison.sure or comparison.likely


@given(people, st.sampled_from(GIVEN), st.integers(1, 365 * 40))
@example(  # found by this test: birth years one digit apart once passed the date guard
    PersonDetails(
        given_name="William",
        family_name="Smith",
        date_of_birth=date(2001, 3, 1),
        address="1 Kestrel Road, Oldham",
        postcode="SW1A 1AA",
    ),
    "William",
    365,
)
@settings(max_examples=300, deadline=None)
def test_two_people_of_one_household_are_never_a_sure_match(person, other_given, days_apart):
    """Same surname, address, postcode, phone and email; another given name (or the same name
    and another birthday: a parent and child)."""
    person = replace(person, phone="+447700900123", email="home@example.org")
    if other_given == person.given_name:
        other = replace(person, date_of_birth=person.date_of_birth - timedelta(days=days_apart))
        if other.date_of_birth.year == person.date_of_birth.year:
            return  # the same name and year of birth: only a person could tell
    else:
        other = replace(person, given_name=other_given)
    assert not compare(encode(comparable(person)), encode(comparable(other))).sure


@pytest.mark.django_db
@given(corrupted())
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_match_people_finds_the_person_behind_a_corrupted_copy(pair):
    person, copy = pair
    # Examples share the test's transaction: each one rolls its person back, so an earlier
    # example's identical person cannot be the one found.
    with transaction.atomic():
        held = create_person(details=person, today=date(2026, 11, 27))
        outcome = match_people([copy])[0]
        found = {outcome.person.pk} if outcome.person else set()
        assert held.pk in found | {m.person_id for m in outcome.likely}
        transaction.set_rollback(True)
