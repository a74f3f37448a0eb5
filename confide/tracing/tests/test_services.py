"""Recording contacts (exposures) with their isolation and follow-ups, and sealed settings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from confide.cases.tests.factories import CaseFactory
from confide.people.tests.factories import PersonFactory
from confide.privacy.blind_index import IndexKind, blind_index
from confide.privacy.crypto import unwrap_data_key
from confide.privacy.models import DataKey
from confide.privacy.tests.rows import raw_row_bytes
from confide.tracing.models import Exposure, FollowUp, Proximity, Setting, SettingKind
from confide.tracing.services import build_setting, create_setting, record_exposure

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact():
    return PersonFactory.create()


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def follow_up_days(exposure: Exposure) -> list[date]:
    return list(
        FollowUp.objects.filter(exposure=exposure)
        .order_by("due_on")
        .values_list("due_on", flat=True)
    )


def counts() -> tuple[int, int]:
    return Exposure.objects.count(), FollowUp.objects.count()


# --- record_exposure -------------------------------------------------------------------------


def test_a_contact_isolates_for_ten_days_under_the_december_2020_policy(contact):
    case = CaseFactory.create(specimen_date=date(2021, 1, 10), today=date(2021, 1, 11))

    exposure = record_exposure(
        case=case,
        contact=contact,
        last_contact=date(2021, 1, 9),
        proximity=Proximity.HOUSEHOLD,
        today=date(2021, 1, 11),
    )

    assert exposure.isolation_ends_on == date(2021, 1, 19)
    assert exposure.policy == case.policy


def test_a_contact_isolated_for_fourteen_days_under_the_launch_policy(contact):
    case = CaseFactory.create(specimen_date=date(2020, 6, 10), today=date(2020, 6, 11))

    exposure = record_exposure(
        case=case,
        contact=contact,
        last_contact=date(2020, 6, 8),
        proximity=Proximity.CLOSE,
        today=date(2020, 6, 11),
    )

    assert exposure.isolation_ends_on == date(2020, 6, 22)


def test_isolation_follows_the_cases_policy_not_the_one_in_force_on_the_contact_date(contact):
    # Tested under v2 (14 days); last contact the day v3 (10 days) took effect.
    case = CaseFactory.create(specimen_date=date(2020, 12, 12), today=date(2020, 12, 13))

    exposure = record_exposure(
        case=case,
        contact=contact,
        last_contact=date(2020, 12, 14),
        proximity=Proximity.CLOSE,
        today=date(2020, 12, 15),
    )

    assert (exposure.policy.version, exposure.isolation_ends_on) == (2, date(2020, 12, 28))


def test_a_contact_gets_one_follow_up_a_day_from_tomorrow_through_the_end_of_isolation(contact):
    case = CaseFactory.create(specimen_date=date(2021, 1, 10), today=date(2021, 1, 11))

    exposure = record_exposure(
        case=case,
        contact=contact,
        last_contact=date(2021, 1, 9),
        proximity=Proximity.HOUSEHOLD,
        today=date(2021, 1, 11),
    )

    assert follow_up_days(exposure) == days(date(2021, 1, 12), date(2021, 1, 19))


def test_a_contact_recorded_on_the_day_of_contact_is_followed_up_every_day_of_isolation(contact):
    case = CaseFactory.create(specimen_date=date(2021, 1, 10), today=date(2021, 1, 11))

    exposure = record_exposure(
        case=case,
        contact=contact,
        last_contact=date(2021, 1, 11),
        proximity=Proximity.HOUSEHOLD,
        today=date(2021, 1, 11),
    )

    assert follow_up_days(exposure) == days(date(2021, 1, 12), date(2021, 1, 21))
    assert set(FollowUp.objects.values_list("person", flat=True)) == {contact.pk}


def test_a_contact_whose_isolation_has_ended_gets_no_follow_ups(contact):
    case = CaseFactory.create(specimen_date=date(2021, 1, 10), today=date(2021, 1, 11))

    exposure = record_exposure(
        case=case,
        contact=contact,
        last_contact=date(2021, 1, 8),
        proximity=Proximity.CLOSE,
        today=date(2021, 1, 20),
    )

    assert follow_up_days(exposure) == []


def test_a_last_contact_in_the_future_is_refused_and_nothing_is_saved(contact):
    case = CaseFactory.create(specimen_date=date(2021, 1, 10), today=date(2021, 1, 11))

    with pytest.raises(ValidationError) as refused:
        record_exposure(
            case=case,
            contact=contact,
            last_contact=date(2021, 1, 12),
            proximity=Proximity.CLOSE,
            today=date(2021, 1, 11),
        )

    assert refused.value.message_dict == {
        "last_contact": ["The date of last contact must be today or in the past"]
    }
    assert counts() == (0, 0)


def test_a_case_cannot_be_recorded_as_their_own_contact():
    case = CaseFactory.create(specimen_date=date(2021, 1, 10), today=date(2021, 1, 11))

    with pytest.raises(ValidationError) as refused:
        record_exposure(
            case=case,
            contact=case.person,
            last_contact=date(2021, 1, 9),
            proximity=Proximity.HOUSEHOLD,
            today=date(2021, 1, 11),
        )

    assert set(refused.value.message_dict) == {"contact"}
    assert counts() == (0, 0)


def test_an_unknown_kind_of_contact_is_refused(contact):
    case = CaseFactory.create(specimen_date=date(2021, 1, 10), today=date(2021, 1, 11))

    with pytest.raises(ValidationError) as refused:
        record_exposure(
            case=case,
            contact=contact,
            last_contact=date(2021, 1, 9),
            proximity="telepathic",
            today=date(2021, 1, 11),
        )

    assert set(refused.value.message_dict) == {"proximity"}
    assert counts() == (0, 0)


def test_a_later_contact_extends_isolation_without_a_second_exposure(contact):
    case = CaseFactory.create(specimen_date=date(2021, 1, 10), today=date(2021, 1, 11))
    first = record_exposure(
        case=case,
        contact=contact,
        last_contact=date(2021, 1, 8),
        proximity=Proximity.PROXIMITY,
        today=date(2021, 1, 11),
    )

    again = record_exposure(
        case=case,
        contact=contact,
        last_contact=date(2021, 1, 9),
        proximity=Proximity.HOUSEHOLD,
        today=date(2021, 1, 11),
    )

    assert again.pk == first.pk
    assert Exposure.objects.count() == 1
    saved = Exposure.objects.get()
    assert (saved.last_contact_on, saved.isolation_ends_on, saved.proximity) == (
        date(2021, 1, 9),
        date(2021, 1, 19),
        Proximity.HOUSEHOLD,
    )


def test_a_later_contact_extends_follow_ups_without_duplicating_any_day(contact):
    case = CaseFactory.create(specimen_date=date(2021, 1, 10), today=date(2021, 1, 11))
    record_exposure(
        case=case,
        contact=contact,
        last_contact=date(2021, 1, 8),
        proximity=Proximity.PROXIMITY,
        today=date(2021, 1, 11),
    )

    exposure = record_exposure(
        case=case,
        contact=contact,
        last_contact=date(2021, 1, 9),
        proximity=Proximity.HOUSEHOLD,
        today=date(2021, 1, 11),
    )

    assert follow_up_days(exposure) == days(date(2021, 1, 12), date(2021, 1, 19))


def test_an_earlier_contact_recorded_later_does_not_shorten_isolation(contact):
    case = CaseFactory.create(specimen_date=date(2021, 1, 10), today=date(2021, 1, 11))
    record_exposure(
        case=case,
        contact=contact,
        last_contact=date(2021, 1, 9),
        proximity=Proximity.HOUSEHOLD,
        today=date(2021, 1, 11),
    )

    exposure = record_exposure(
        case=case,
        contact=contact,
        last_contact=date(2021, 1, 8),
        proximity=Proximity.PROXIMITY,
        today=date(2021, 1, 11),
    )

    saved = Exposure.objects.get(pk=exposure.pk)
    assert (saved.last_contact_on, saved.isolation_ends_on) == (date(2021, 1, 9), date(2021, 1, 19))
    assert follow_up_days(saved) == days(date(2021, 1, 12), date(2021, 1, 19))


def test_one_contact_of_two_cases_has_an_exposure_for_each(contact):
    first_case, second_case = CaseFactory.create_batch(
        2, specimen_date=date(2021, 1, 10), today=date(2021, 1, 11)
    )

    for case in (first_case, second_case):
        record_exposure(
            case=case,
            contact=contact,
            last_contact=date(2021, 1, 9),
            proximity=Proximity.CLOSE,
            today=date(2021, 1, 11),
        )

    assert Exposure.objects.filter(contact=contact).count() == 2


# --- settings --------------------------------------------------------------------------------


def test_a_household_cannot_be_given_a_name():
    with pytest.raises(ValidationError) as refused:
        build_setting(kind=SettingKind.HOUSEHOLD, name="The Smiths", address="1 High Street")

    assert set(refused.value.message_dict) == {"name"}


def test_refusing_a_named_household_saves_nothing():
    before = (Setting.objects.count(), DataKey.objects.count())

    with pytest.raises(ValidationError):
        create_setting(kind=SettingKind.HOUSEHOLD, name="The Smiths", address="1 High Street")

    assert (Setting.objects.count(), DataKey.objects.count()) == before


def test_a_school_may_be_named_in_clear():
    school = create_setting(
        kind=SettingKind.SCHOOL, name="  St  Mary's Primary ", postcode="M1 1AE"
    )

    assert Setting.objects.get(pk=school.pk).name == "St Mary's Primary"


def test_a_settings_address_is_not_stored_in_clear():
    home = create_setting(
        kind=SettingKind.HOUSEHOLD, address="14 Acacia Avenue, Barchester", postcode="cr2 6xh"
    )

    row = raw_row_bytes(Setting, home.pk).lower()
    assert b"acacia" not in row
    assert b"cr2 6xh" not in row


def test_a_settings_sealed_address_and_postcode_open_under_its_own_data_key():
    home = create_setting(
        kind=SettingKind.HOUSEHOLD, address=" 14  Acacia Avenue ", postcode="cr2 6xh"
    )

    saved = Setting.objects.select_related("data_key").get(pk=home.pk)
    key = unwrap_data_key(saved.data_key)
    assert key.open("setting.address", saved.address_sealed) == "14 Acacia Avenue"
    assert key.open("setting.postcode", saved.postcode_sealed) == "CR2 6XH"


def test_a_settings_postcode_is_indexed_in_its_normal_form():
    home = create_setting(kind=SettingKind.HOUSEHOLD, address="14 Acacia Avenue", postcode="cr26xh")

    assert Setting.objects.get(pk=home.pk).postcode_index == blind_index(
        IndexKind.POSTCODE, "CR2 6XH"
    )


def test_a_setting_and_a_person_at_the_same_postcode_share_the_postcode_index():
    home = create_setting(
        kind=SettingKind.HOUSEHOLD, address="14 Acacia Avenue", postcode="cr2 6xh"
    )
    resident = PersonFactory.create(details__postcode="CR2 6XH")

    assert home.postcode_index == resident.postcode_index


def test_a_setting_with_a_bad_postcode_is_refused_naming_the_postcode():
    with pytest.raises(ValidationError) as refused:
        build_setting(kind=SettingKind.WORKPLACE, name="Depot", postcode="not a postcode")

    assert refused.value.message_dict == {"postcode": ["Enter a real UK postcode, like SW1A 1AA"]}


def test_an_unknown_kind_of_setting_is_refused():
    with pytest.raises(ValidationError) as refused:
        build_setting(kind="spaceship", name="Enterprise")

    assert set(refused.value.message_dict) == {"kind"}


def test_a_setting_without_a_postcode_has_no_postcode_index():
    venue = create_setting(kind=SettingKind.VENUE, name="The Red Lion")

    assert Setting.objects.get(pk=venue.pk).postcode_index is None


def test_a_last_contact_outside_the_cases_infectious_period_is_refused(contact):
    case = CaseFactory.create(specimen_date=date(2021, 1, 10), today=date(2021, 1, 11))

    with pytest.raises(ValidationError) as raised:
        record_exposure(
            case=case,
            contact=contact,
            last_contact=date(2021, 1, 5),
            proximity=Proximity.CLOSE,
            today=date(2021, 1, 11),
        )

    assert "infectious period" in raised.value.message_dict["last_contact"][0]
    assert Exposure.objects.count() == 0
