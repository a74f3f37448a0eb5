"""Adding to a case's draft online: each place or contact is checked as submitting will check
it, and the draft holds at most MAX_PLACES places and MAX_CONTACTS contacts (beyond that a
tracer calls)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from confide.public import answers
from confide.public.models import SelfServiceLink

from .journey import case_with_link

pytestmark = pytest.mark.django_db


def case_link() -> SelfServiceLink:
    issued = case_with_link(today=timezone.localdate())
    return SelfServiceLink.objects.get(case=issued.case)


def contact(n: int) -> answers.ContactAnswer:
    return answers.ContactAnswer(
        given_name=f"Contact{n}",
        family_name="Example",
        phone="",
        email=f"contact{n}@example.net",
        last_contact=(timezone.localdate() - timedelta(days=1)).isoformat(),
        proximity="close",
    )


def place(n: int) -> answers.PlaceAnswer:
    return answers.PlaceAnswer(
        kind="work",
        name=f"Office {n}",
        postcode="SW1A 1AA",
        visited_on=(timezone.localdate() - timedelta(days=1)).isoformat(),
    )


def test_places_are_added_until_the_draft_is_full() -> None:
    link = case_link()
    answers.save_answers(
        link=link,
        answers=answers.CaseAnswers(places=[place(n) for n in range(answers.MAX_PLACES - 1)]),
    )

    answers.add_place(link=link, place=place(99))
    with pytest.raises(answers.TooManyAnswers):
        answers.add_place(link=link, place=place(100))

    saved = answers.load_answers(link=link).places
    assert len(saved) == answers.MAX_PLACES
    assert saved[-1].name == "Office 99"


def test_contacts_are_added_until_the_draft_is_full() -> None:
    link = case_link()
    answers.save_answers(
        link=link,
        answers=answers.CaseAnswers(contacts=[contact(n) for n in range(answers.MAX_CONTACTS - 1)]),
    )

    answers.add_contact(link=link, contact=contact(99), today=timezone.localdate())
    with pytest.raises(answers.TooManyAnswers):
        answers.add_contact(link=link, contact=contact(100), today=timezone.localdate())

    saved = answers.load_answers(link=link).contacts
    assert len(saved) == answers.MAX_CONTACTS
    assert saved[-1].given_name == "Contact99"


def test_a_contact_with_no_way_to_reach_them_is_refused_and_not_saved() -> None:
    link = case_link()
    unreachable = contact(1)
    unreachable.email = ""

    with pytest.raises(ValidationError) as refused:
        answers.add_contact(link=link, contact=unreachable, today=timezone.localdate())

    assert "phone" in refused.value.message_dict
    assert answers.load_answers(link=link).contacts == []
