"""Staff accounts: sealed contact details, sign-in by email blind index, training records."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from confide.privacy.blind_index import IndexKind, blind_index
from confide.privacy.models import DataKey
from confide.privacy.tests.rows import raw_row_bytes
from confide.staff.models import Course, Role, StaffMember, TrainingRecord
from confide.staff.selectors import (
    has_in_date_data_protection_training,
    in_date_data_protection_training_sql,
)
from confide.staff.services import create_staff_member, record_training, staff_contact_details
from confide.staff.tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db


def sign_in(**credentials):
    """django-axes checks every sign-in against its request (source address, lockouts)."""
    return authenticate(RequestFactory().post("/sign-in/"), **credentials)


PASSWORD = "correct horse battery staple"
CONFIGURED_HASHERS = list(django_settings.PASSWORD_HASHERS)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Argon2 is deliberately slow; these tests are about sign-in by email, not hashing cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ada():
    return create_staff_member(
        display_name="Ada  Lovelace",
        email="Ada.Lovelace@Confide.Example.ORG",
        phone="07700 900 321",
        role=Role.CLINICIAN,
        password=PASSWORD,
    )


def counts() -> tuple[int, int]:
    return StaffMember.objects.count(), DataKey.objects.count()


# --- accounts --------------------------------------------------------------------------------


def test_a_staff_members_contact_details_read_back_normalised(ada):
    assert staff_contact_details(StaffMember.objects.get(pk=ada.pk)) == {
        "display_name": "Ada Lovelace",
        "email": "ada.lovelace@confide.example.org",
        "phone": "+447700900321",
    }


def test_a_staff_members_row_holds_no_contact_detail_in_clear(ada):
    row = raw_row_bytes(StaffMember, ada.pk).lower()

    assert b"ada.lovelace@confide.example.org" not in row
    assert b"lovelace" not in row
    assert b"7700900321" not in row


def test_a_staff_member_is_indexed_by_their_normalised_email(ada):
    assert ada.email_index == blind_index(IndexKind.STAFF_EMAIL, "ada.lovelace@confide.example.org")


def test_a_staff_email_index_is_unrelated_to_the_same_address_as_a_contact_email(ada):
    assert ada.email_index != blind_index(IndexKind.EMAIL, "ada.lovelace@confide.example.org")


def test_a_staff_member_without_a_password_cannot_sign_in():
    member = StaffMemberFactory.create(email="nopass@confide.example.org")

    assert not member.has_usable_password()


@pytest.mark.parametrize(
    "typed", ["ada.lovelace@confide.example.org", "ADA.LOVELACE@CONFIDE.EXAMPLE.ORG"]
)
def test_a_duplicate_email_in_any_case_is_refused_naming_the_email_field(ada, typed):
    before = counts()

    with pytest.raises(ValidationError) as refused:
        StaffMemberFactory.create(email=typed)

    assert refused.value.message_dict == {
        "email": ["A staff member with this email address already exists"]
    }
    assert counts() == before


def test_every_invalid_account_detail_is_reported_at_once():
    before = counts()

    with pytest.raises(ValidationError) as refused:
        create_staff_member(display_name=" ", email="ada@", phone="phone me", role="wizard")

    assert set(refused.value.message_dict) == {"display_name", "email", "phone", "role"}
    assert counts() == before


# --- sign-in ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "Ada.Lovelace@Confide.Example.ORG",
        "ada.lovelace@confide.example.org",
        "  ADA.LOVELACE@CONFIDE.EXAMPLE.ORG ",
    ],
)
def test_a_staff_member_signs_in_with_their_email_in_any_case(ada, typed):
    assert sign_in(username=typed, password=PASSWORD) == ada


def test_a_password_is_stored_hashed_with_argon2_and_signs_in(settings):
    settings.PASSWORD_HASHERS = CONFIGURED_HASHERS
    member = StaffMemberFactory.create(email="grace@confide.example.org", password=PASSWORD)

    assert member.password.startswith("argon2$")
    assert sign_in(username="Grace@confide.example.org", password=PASSWORD) == member


def test_sign_in_fails_with_the_wrong_password(ada):
    assert (
        sign_in(
            username="ada.lovelace@confide.example.org",
            password="wrong password",
        )
        is None
    )


def test_sign_in_fails_for_an_unknown_email(ada):
    assert sign_in(username="grace.hopper@confide.example.org", password=PASSWORD) is None


def test_sign_in_fails_for_something_that_is_not_an_email(ada):
    assert sign_in(username="ada", password=PASSWORD) is None


def test_sign_in_fails_for_a_deactivated_staff_member(ada):
    StaffMember.objects.filter(pk=ada.pk).update(is_active=False)

    assert sign_in(username="ada.lovelace@confide.example.org", password=PASSWORD) is None


# --- training --------------------------------------------------------------------------------

COMPLETED = date(2020, 6, 1)


@pytest.fixture
def trained(ada):
    record_training(
        staff_member=ada, course=Course.DATA_PROTECTION, completed_on=COMPLETED, recorded_by=None
    )
    return ada


def test_training_expires_a_year_after_completion(ada):
    record = record_training(
        staff_member=ada, course=Course.DATA_PROTECTION, completed_on=COMPLETED, recorded_by=None
    )

    assert record.expires_on == date(2021, 6, 1)


@pytest.mark.parametrize("on", [COMPLETED, date(2020, 12, 25), date(2021, 6, 1)])
def test_data_protection_training_is_in_date_for_a_year(trained, on):
    assert has_in_date_data_protection_training(trained, on=on)


def test_data_protection_training_has_expired_after_a_year(trained):
    assert not has_in_date_data_protection_training(trained, on=date(2021, 6, 2))


def test_data_protection_training_does_not_count_before_it_is_completed(trained):
    assert not has_in_date_data_protection_training(trained, on=COMPLETED - timedelta(days=1))


def test_a_staff_member_who_never_trained_has_no_in_date_training(ada):
    assert not has_in_date_data_protection_training(ada, on=COMPLETED)


def test_other_training_does_not_count_as_data_protection_training(ada):
    record_training(
        staff_member=ada, course=Course.SAFEGUARDING, completed_on=COMPLETED, recorded_by=None
    )

    assert not has_in_date_data_protection_training(ada, on=COMPLETED)


def test_refresher_training_renews_expired_training(trained):
    record_training(
        staff_member=trained,
        course=Course.DATA_PROTECTION,
        completed_on=date(2021, 7, 1),
        recorded_by=None,
    )

    assert has_in_date_data_protection_training(trained, on=date(2022, 1, 1))


def test_training_records_who_recorded_it(ada):
    supervisor = StaffMemberFactory.create(role=Role.SUPERVISOR)

    record = record_training(
        staff_member=ada,
        course=Course.DATA_PROTECTION,
        completed_on=COMPLETED,
        recorded_by=supervisor,
    )

    assert TrainingRecord.objects.get(pk=record.pk).recorded_by == supervisor


def test_training_on_an_unknown_course_is_refused(ada):
    with pytest.raises(ValidationError) as refused:
        record_training(
            staff_member=ada, course="juggling", completed_on=COMPLETED, recorded_by=None
        )

    assert set(refused.value.message_dict) == {"course"}
    assert not TrainingRecord.objects.exists()


def test_the_sql_form_of_the_training_rule_agrees_with_the_selector_on_every_day():
    never = StaffMemberFactory.create()
    other_course = StaffMemberFactory.create()
    record_training(
        staff_member=other_course,
        course=Course.SAFEGUARDING,
        completed_on=COMPLETED,
        recorded_by=None,
    )
    lapsed_then_renewed = StaffMemberFactory.create()
    for completed_on in (COMPLETED, date(2021, 7, 1)):
        record_training(
            staff_member=lapsed_then_renewed,
            course=Course.DATA_PROTECTION,
            completed_on=completed_on,
            recorded_by=None,
        )
    members = [never, other_course, lapsed_then_renewed]
    column = f"{StaffMember._meta.db_table}.id"

    for on in [COMPLETED + timedelta(days=n) for n in range(-1, 400, 7)] + [date(2021, 6, 2)]:
        in_sql = dict(
            StaffMember.objects.filter(pk__in=[m.pk for m in members])
            .annotate(trained=in_date_data_protection_training_sql(member_id_column=column, on=on))
            .values_list("pk", "trained")
        )
        assert {m.pk: bool(in_sql[m.pk]) for m in members} == {
            m.pk: has_in_date_data_protection_training(m, on=on) for m in members
        }, on
