"""The growth benchmark's synthetic population holds what production writes: people sealed
under their own keys (readable back through the normal selectors), and the shape it promises."""

from __future__ import annotations

import pytest
from django.utils import timezone

from bench.population import load_population, person_details
from confide.cases.models import Case
from confide.people.models import Person
from confide.people.selectors import people_by_nhs_number
from confide.people.selectors import person_details as read_details
from confide.tracing.models import Exposure, FollowUp, FollowUpStatus

pytestmark = pytest.mark.django_db


def test_loaded_people_decrypt_to_the_details_they_were_built_from() -> None:
    load_population(12, processes=1)
    for person in Person.objects.select_related("data_key").order_by("pk"):
        assert read_details(person) == person_details(person.pk)


def test_loaded_people_are_found_by_their_blind_indexes() -> None:
    load_population(12, processes=1)
    wanted = person_details(Person.objects.order_by("pk").first().pk)  # type: ignore[union-attr]
    assert people_by_nhs_number(wanted.nhs_number).count() == 1


def test_each_case_names_two_contacts_and_half_of_them_are_checked_today() -> None:
    load_population(20, processes=1)
    assert Case.objects.count() == 20
    assert Exposure.objects.count() == 40
    due_today = FollowUp.objects.filter(status=FollowUpStatus.DUE, due_on=timezone.localdate())
    assert due_today.count() == 20
