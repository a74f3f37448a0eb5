"""Creating, rectifying and erasing people: values sealed, normalised, validated, shredded."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import nhs_number
import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confide.people.details import PersonDetails
from confide.people.models import PERSON_SEALED_FIELDS, Person
from confide.people.selectors import (
    people_by_email,
    people_by_nhs_number,
    people_by_phone,
    person_details,
)
from confide.people.services import PersonErased, create_person, erase_person, rectify_person
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.privacy.blind_index import IndexKind, blind_index
from confide.privacy.crypto import unwrap_data_key
from confide.privacy.keys import DataKeyDestroyed
from confide.privacy.models import DataKey
from confide.privacy.tests.rows import raw_row_bytes

pytestmark = pytest.mark.django_db

TODAY = date(2024, 6, 1)
INDEX_COLUMNS = (
    "nhs_number_index",
    "email_index",
    "phone_index",
    "surname_dob_index",
    "postcode_index",
)


# Details as someone might type them: spaced, mixed case, national formats.
TYPED = PersonDetails(
    given_name="  Siobhán ",
    family_name="O'Neill  Ní Bhriain",
    date_of_birth=date(1984, 2, 29),
    nhs_number="943 476 5919",
    phone="07700 900 982",
    email="  Siobhan.ONeill@Example.ORG ",
    address="Flat 2,   14 Acacia Avenue\n London",
    postcode=" sw1a1aa",
)


def typed_details(**overrides) -> PersonDetails:
    return replace(TYPED, **overrides)


def reload(person: Person) -> Person:
    return Person.objects.select_related("data_key").get(pk=person.pk)


def counts() -> tuple[int, int]:
    return Person.objects.count(), DataKey.objects.count()


# --- create_person: normalised, sealed, indexed ---------------------------------------------


def test_a_created_person_reads_back_with_normalised_details():
    person = create_person(details=typed_details(), today=TODAY)

    assert person_details(reload(person)) == PersonDetails(
        given_name="Siobhán",
        family_name="O'Neill Ní Bhriain",
        date_of_birth=date(1984, 2, 29),
        nhs_number="9434765919",
        phone="+447700900982",
        email="siobhan.oneill@example.org",
        address="Flat 2, 14 Acacia Avenue London",
        postcode="SW1A 1AA",
    )


@pytest.mark.parametrize(
    ("field", "typed", "stored"),
    [
        ("nhs_number", "943-476-5919", "9434765919"),
        ("phone", "+44 7700 900982", "+447700900982"),
        ("phone", "020 7946 0018", "+442079460018"),
        ("email", "ADA@EXAMPLE.ORG", "ada@example.org"),
        ("postcode", "ec1a  1bb", "EC1A 1BB"),
        ("postcode", "m11ae", "M1 1AE"),
    ],
)
def test_each_identifier_is_stored_in_its_normal_form(field, typed, stored):
    person = create_person(details=typed_details(**{field: typed}), today=TODAY)

    assert getattr(person_details(reload(person)), field) == stored


def test_a_person_with_only_a_first_name_can_be_created():
    person = create_person(details=PersonDetails(given_name="Ada"), today=TODAY)

    assert person_details(reload(person)) == PersonDetails(given_name="Ada")
    assert all(getattr(person, column) is None for column in INDEX_COLUMNS)


def test_each_person_gets_their_own_data_key():
    first, second = PersonFactory.create_batch(2)

    assert first.data_key_id != second.data_key_id


def test_no_personal_detail_is_stored_in_clear():
    person = create_person(details=typed_details(), today=TODAY)

    row = raw_row_bytes(Person, person.pk).lower()
    for clear in (
        "siobh",
        "o'neill",
        "1984-02-29",
        "9434765919",
        "447700900982",
        "example.org",
        "acacia",
        "sw1a",
    ):
        assert clear.encode() not in row, clear


def test_a_created_person_is_indexed_by_their_normalised_identifiers():
    person = create_person(details=typed_details(), today=TODAY)

    assert person.nhs_number_index == blind_index(IndexKind.NHS_NUMBER, "9434765919")
    assert person.email_index == blind_index(IndexKind.EMAIL, "siobhan.oneill@example.org")
    assert person.phone_index == blind_index(IndexKind.PHONE, "+447700900982")
    assert person.postcode_index == blind_index(IndexKind.POSTCODE, "SW1A 1AA")
    assert person.surname_dob_index == blind_index(
        IndexKind.SURNAME_DOB, "oneillnbhriain|1984-02-29"
    )


@st.composite
def generated_nhs_numbers(draw) -> str:
    """NHS numbers from the nhs_number library's own generator, seeded by hypothesis."""
    region = draw(st.sampled_from([None, nhs_number.REGION_ENGLAND, nhs_number.REGION_SYNTHETIC]))
    state = random.getstate()
    random.seed(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    try:
        return nhs_number.generate(for_region=region)[0]
    finally:
        random.setstate(state)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(number=generated_nhs_numbers())
def test_any_valid_nhs_number_round_trips(number):
    person = create_person(details=PersonDetails(given_name="Ada", nhs_number=number), today=TODAY)

    assert person_details(reload(person)).nhs_number == number


# --- create_person: invalid input is refused, field by field, and nothing is saved -----------

INVALID = [
    (
        "nhs_number",
        {"nhs_number": "943 476 5918"},
        "Enter a valid NHS number: the check digit does not match",
    ),
    (
        "nhs_number",
        {"nhs_number": "943 476 591"},
        "Enter an NHS number with 10 digits, like 485 777 3456",
    ),
    (
        "nhs_number",
        {"nhs_number": "943 476 59AB"},
        "Enter an NHS number with 10 digits, like 485 777 3456",
    ),
    (
        "date_of_birth",
        {"date_of_birth": date(2024, 6, 2)},
        "Date of birth must be today or in the past",
    ),
    (
        "date_of_birth",
        {"date_of_birth": date(1889, 12, 31)},
        "Date of birth must be on or after 1 January 1890",
    ),
    (
        "phone",
        {"phone": "phone me"},
        "Enter a phone number, like 07700 900 982 or +44 7700 900 982",
    ),
    (
        "phone",
        {"phone": "07700 9009"},
        "Enter a valid phone number, like 07700 900 982 or +44 7700 900 982",
    ),
    (
        "email",
        {"email": "siobhan.example.org"},
        "Enter an email address in the correct format, like name@example.com",
    ),
    (
        "email",
        {"email": "siobhan@"},
        "Enter an email address in the correct format, like name@example.com",
    ),
    ("postcode", {"postcode": "SW1A 1A"}, "Enter a real UK postcode, like SW1A 1AA"),
    ("postcode", {"postcode": "QQ1 1AA"}, "Enter a real UK postcode, like SW1A 1AA"),
    ("given_name", {"given_name": "   "}, "Enter the first name"),
    ("given_name", {"given_name": "A" * 101}, "The first name must be 100 characters or fewer"),
]


@pytest.mark.parametrize(("field", "overrides", "message"), INVALID, ids=lambda v: str(v)[:40])
def test_an_invalid_detail_is_refused_with_a_plain_english_message_naming_its_field(
    field, overrides, message
):
    with pytest.raises(ValidationError) as refused:
        create_person(details=typed_details(**overrides), today=TODAY)

    assert refused.value.message_dict == {field: [message]}


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("nhs_number", "9434765918"),
        ("phone", "01632 96"),
        ("email", "siobhan.oneill.example.org"),
        ("postcode", "ZZ99 9ZZ"),
        ("date_of_birth", date(1889, 12, 31)),
    ],
)
def test_an_invalid_detail_is_never_echoed_in_the_error(field, typed):
    with pytest.raises(ValidationError) as refused:
        create_person(details=typed_details(**{field: typed}), today=TODAY)

    shown = " ".join(refused.value.messages)
    assert str(typed) not in shown
    assert str(typed).replace(" ", "") not in shown.replace(" ", "")


@pytest.mark.parametrize(("field", "overrides", "message"), INVALID, ids=lambda v: str(v)[:40])
def test_nothing_is_saved_when_a_detail_is_invalid(field, overrides, message):
    before = counts()

    with pytest.raises(ValidationError):
        create_person(details=typed_details(**overrides), today=TODAY)

    assert counts() == before


def test_every_invalid_detail_is_reported_at_once():
    details = typed_details(
        nhs_number="943 476 5918",
        date_of_birth=date(2030, 1, 1),
        phone="phone me",
        email="siobhan@",
        postcode="nowhere",
    )

    with pytest.raises(ValidationError) as refused:
        create_person(details=details, today=TODAY)

    assert set(refused.value.message_dict) == {
        "nhs_number",
        "date_of_birth",
        "phone",
        "email",
        "postcode",
    }


def test_the_earliest_and_latest_dates_of_birth_are_accepted():
    oldest = create_person(details=typed_details(date_of_birth=date(1890, 1, 1)), today=TODAY)
    newborn = create_person(details=typed_details(date_of_birth=TODAY), today=TODAY)

    assert person_details(reload(oldest)).date_of_birth == date(1890, 1, 1)
    assert person_details(reload(newborn)).date_of_birth == TODAY


@st.composite
def nhs_numbers_with_a_wrong_check_digit(draw) -> str:
    body = draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    right = nhs_number.calculate_checksum(body)
    wrong = draw(st.sampled_from([d for d in "0123456789" if d != str(right)]))
    return body + wrong


@given(number=nhs_numbers_with_a_wrong_check_digit())
def test_any_ten_digits_with_a_wrong_check_digit_are_refused(number):
    with pytest.raises(ValidationError) as refused:
        create_person(details=PersonDetails(given_name="Ada", nhs_number=number), today=TODAY)

    assert refused.value.message_dict == {
        "nhs_number": ["Enter a valid NHS number: the check digit does not match"]
    }


# --- rectify_person --------------------------------------------------------------------------


def test_rectifying_a_person_replaces_their_details():
    person = create_person(details=typed_details(), today=TODAY)

    rectify_person(
        person=person,
        details=typed_details(email="s.oneill@example.net", phone="07700 900 111"),
        today=TODAY,
    )

    details = person_details(reload(person))
    assert (details.email, details.phone) == ("s.oneill@example.net", "+447700900111")


def test_rectifying_a_person_keeps_their_data_key():
    person = create_person(details=typed_details(), today=TODAY)

    rectified = rectify_person(
        person=person, details=typed_details(email="s@example.net"), today=TODAY
    )

    assert rectified.data_key_id == person.data_key_id
    assert DataKey.objects.count() == 1


def test_a_rectified_person_is_found_by_their_new_email_and_not_their_old_one():
    person = create_person(details=typed_details(), today=TODAY)

    rectify_person(person=person, details=typed_details(email="s.oneill@example.net"), today=TODAY)

    assert list(people_by_email("s.oneill@example.net")) == [person]
    assert list(people_by_email("siobhan.oneill@example.org")) == []


def test_a_rectified_person_is_found_by_their_new_nhs_number_and_not_their_old_one():
    person = create_person(details=typed_details(), today=TODAY)

    rectify_person(person=person, details=typed_details(nhs_number="485 777 3457"), today=TODAY)

    assert list(people_by_nhs_number("4857773457")) == [person]
    assert list(people_by_nhs_number("9434765919")) == []


def test_rectifying_with_invalid_details_changes_nothing():
    person = create_person(details=typed_details(), today=TODAY)
    before = raw_row_bytes(Person, person.pk)

    with pytest.raises(ValidationError):
        rectify_person(person=person, details=typed_details(email="nope"), today=TODAY)

    assert raw_row_bytes(Person, person.pk) == before


def test_an_erased_person_cannot_be_rectified():
    person = create_person(details=typed_details(), today=TODAY)
    erase_person(person=person)

    with pytest.raises(PersonErased):
        rectify_person(person=person, details=typed_details(), today=TODAY)


# --- erase_person ----------------------------------------------------------------------------


def test_an_erased_persons_details_can_no_longer_be_read():
    person = create_person(details=typed_details(), today=TODAY)

    erase_person(person=person)

    with pytest.raises(PersonErased):
        person_details(reload(person))


def test_erasing_a_person_destroys_their_data_key():
    person = create_person(details=typed_details(), today=TODAY)

    erase_person(person=person)

    data_key = DataKey.objects.get(pk=person.data_key_id)
    assert data_key.wrapped_key is None
    assert data_key.master_version is None
    assert data_key.destroyed_at is not None


def test_erasing_a_person_drops_their_ciphertexts_and_indexes():
    person = create_person(details=typed_details(), today=TODAY)

    erase_person(person=person)

    erased = reload(person)
    assert erased.erased_at is not None
    assert all(getattr(erased, f"{name}_sealed") is None for name in PERSON_SEALED_FIELDS)
    assert all(getattr(erased, column) is None for column in INDEX_COLUMNS)


def test_an_erased_person_is_no_longer_found_by_any_lookup():
    person = create_person(details=typed_details(), today=TODAY)

    erase_person(person=person)

    assert not people_by_nhs_number("9434765919").exists()
    assert not people_by_email("siobhan.oneill@example.org").exists()
    assert not people_by_phone("07700 900 982").exists()


def test_a_copy_of_the_ciphertext_taken_before_erasure_can_never_be_opened():
    person = create_person(details=typed_details(), today=TODAY)
    sealed = reload(person).nhs_number_sealed
    assert sealed is not None
    copied = bytes(sealed)  # as in a backup, a replica or an export

    erase_person(person=person)

    with pytest.raises(DataKeyDestroyed):
        unwrap_data_key(DataKey.objects.get(pk=person.data_key_id)).open(
            "person.nhs_number", copied
        )


def test_erasing_one_person_leaves_everyone_else_readable():
    erased, kept = PersonFactory.create_batch(2)
    kept_details = person_details(reload(kept))

    erase_person(person=erased)

    assert person_details(reload(kept)) == kept_details


def test_generated_people_have_valid_details():
    details = PersonDetailsFactory.build()

    person = create_person(details=details, today=TODAY)

    assert person_details(reload(person)).email == details.email
