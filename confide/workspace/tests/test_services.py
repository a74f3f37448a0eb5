"""Services added for the workspace in other apps: queueing bulk-loaded cases, finding a
setting or a person already held, finishing a contact call."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from confide.cases.models import Case, CaseStatus
from confide.cases.services import transition_case
from confide.cases.tests.factories import CaseFactory
from confide.people.details import PersonDetails
from confide.people.selectors import find_known_person, person_details
from confide.people.services import create_person
from confide.people.tests.factories import PersonFactory
from confide.staff.models import Tier
from confide.tracing.models import Setting, SettingKind
from confide.tracing.services import find_or_create_setting, record_named_contact
from confide.workqueue.models import WorkItem, WorkKind, WorkState
from confide.workqueue.services import PRIORITY_URGENT, enqueue_case_interview, enqueue_open_cases

pytestmark = pytest.mark.django_db


def test_enqueue_open_cases_queues_new_and_escalated_cases_once():
    waiting, escalated, queued, completed = (CaseFactory.create() for _ in range(4))
    transition_case(case=escalated, to=CaseStatus.ESCALATED, by=None, reason="care home")
    Case.objects.filter(pk=escalated.pk).update(tier=Tier.LOCAL_HEALTH_PROTECTION)
    enqueue_case_interview(case=queued)
    Case.objects.filter(pk=completed.pk).update(status=CaseStatus.COMPLETED)

    assert enqueue_open_cases() == 2
    assert enqueue_open_cases() == 0

    items = {item.case_id: item for item in WorkItem.objects.filter(kind=WorkKind.CASE_INTERVIEW)}
    assert set(items) == {waiting.pk, escalated.pk, queued.pk}
    assert items[waiting.pk].tier == Tier.CLINICAL
    assert items[escalated.pk].tier == Tier.LOCAL_HEALTH_PROTECTION
    assert items[escalated.pk].priority == PRIORITY_URGENT
    assert all(item.state == WorkState.WAITING for item in items.values())


def test_a_named_setting_with_the_same_postcode_is_found_not_duplicated():
    first = find_or_create_setting(kind=SettingKind.SCHOOL, name="St Anne's", postcode="m11ae")

    again = find_or_create_setting(kind=SettingKind.SCHOOL, name="st  anne's", postcode="M1 1AE")
    elsewhere = find_or_create_setting(
        kind=SettingKind.SCHOOL, name="St Anne's", postcode="B33 8TH"
    )

    assert again.pk == first.pk
    assert elsewhere.pk != first.pk


def test_households_are_never_shared():
    first = find_or_create_setting(kind=SettingKind.HOUSEHOLD, postcode="M1 1AE")
    second = find_or_create_setting(kind=SettingKind.HOUSEHOLD, postcode="M1 1AE")

    assert first.pk != second.pk


def test_a_setting_needs_a_name_and_a_postcode():
    with pytest.raises(ValidationError) as raised:
        find_or_create_setting(kind=SettingKind.WORKPLACE, name=" ", postcode="")

    assert set(raised.value.message_dict) == {"name", "postcode"}
    assert not Setting.objects.exists()


def test_an_nhs_number_links_whatever_name_was_given():
    known = PersonFactory.create()

    found = find_known_person(given_name="Bob", nhs_number=person_details(known).nhs_number)

    assert found == known


def test_a_shared_email_links_only_the_person_with_that_first_name():
    parent = create_person(details=PersonDetails(given_name="Ana", email="family@example.org"))

    assert find_known_person(given_name=" ana ", email="FAMILY@example.org") == parent
    assert find_known_person(given_name="Luis", email="family@example.org") is None


def test_a_named_contact_that_fails_validation_leaves_no_person_behind():
    today = date(2021, 1, 11)
    case = CaseFactory.create()
    people = case.person.__class__.objects.count()

    with pytest.raises(ValidationError) as raised:
        record_named_contact(
            case=case,
            details=PersonDetails(given_name="Kit", phone="07700 900321"),
            last_contact=today - timedelta(days=30),
            proximity="close",
            by=None,
            today=today,
        )

    assert "last_contact" in raised.value.message_dict
    assert case.person.__class__.objects.count() == people


def test_a_named_contact_who_may_be_someone_we_hold_is_created_and_put_to_review():
    from confide.matching.models import MatchReview

    today = date(2021, 1, 11)
    held = create_person(
        details=PersonDetails(
            given_name="Amelia",
            family_name="Hartley-Jones",
            date_of_birth=date(1984, 3, 12),
            address="14 Kestrel Road, Oldham",
            postcode="OL1 3AB",
        ),
        today=today,
    )
    case = CaseFactory.create()

    named = record_named_contact(
        case=case,
        details=PersonDetails(
            given_name="Amelai",
            family_name="Hartley Jones",
            date_of_birth=date(1984, 3, 21),
            address="14 Kestrel Rd, Oldham",
            postcode="OL1 3AD",
            phone="07700 900555",
        ),
        last_contact=today - timedelta(days=2),
        proximity="close",
        by=None,
        today=today,
    )

    assert not named.linked_to_known_person
    contact = named.exposure.contact
    assert contact != held
    pairs = {frozenset(pair) for pair in MatchReview.objects.values_list("person", "candidate")}
    assert frozenset({contact.pk, held.pk}) in pairs
