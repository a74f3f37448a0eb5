"""Property: for random cases and contacts, a contact's page and every message they are sent
never contain anything of the case — names, phone, email, address, postcode, NHS number or the
dates of the case's test."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confide.messaging.models import Message
from confide.people.details import PersonDetails
from confide.people.tests.factories import POSTCODES, valid_nhs_number
from confide.public.access import VISITOR_SESSION_KEY
from confide.public.answers import CaseAnswers, ContactAnswer, save_answers, submit_answers
from confide.public.models import SelfServiceLink
from confide.tracing.models import Exposure

from .journey import case_with_link, message_body

pytestmark = pytest.mark.django_db

name = st.from_regex(r"Zq[a-z]{5,9}", fullmatch=True)  # never a word on the pages
# Contacts' names differ from every case's: a contact shown their own name is no leak, and with
# one alphabet hypothesis found a contact named exactly as their case.
contact_name = st.from_regex(r"Zx[a-z]{5,9}", fullmatch=True)


@st.composite
def case_details(draw: st.DrawFn) -> PersonDetails:
    return PersonDetails(
        given_name=draw(name),
        family_name=draw(name),
        date_of_birth=draw(st.dates(min_value=date(1940, 1, 1), max_value=date(2004, 12, 31))),
        nhs_number=valid_nhs_number(draw(st.integers(min_value=1, max_value=90_000))),
        phone=f"07700 900{draw(st.integers(min_value=0, max_value=499)):03d}",
        email=f"{draw(name).lower()}@example.org",
        address=f"{draw(st.integers(min_value=1, max_value=99))} {draw(name)} Road",
        postcode=draw(st.sampled_from(POSTCODES)),
    )


contacts = st.lists(
    st.tuples(contact_name, contact_name, st.sampled_from(["household", "close", "proximity"])),
    min_size=1,
    max_size=3,
    unique_by=lambda c: c[0],
)


def forms_of(details: PersonDetails, specimen: date) -> set[str]:
    values = {
        details.given_name,
        details.family_name,
        details.email,
        details.phone,
        details.phone.replace(" ", ""),
        "+44" + details.phone.replace(" ", "")[1:],
        details.address,
        details.postcode,
        details.nhs_number,
        f"{details.nhs_number[:3]} {details.nhs_number[3:6]} {details.nhs_number[6:]}",
    }
    for day in (specimen, details.date_of_birth):
        assert day is not None
        values |= {
            day.isoformat(),
            f"{day.day} {day:%B %Y}",
            f"{day:%d/%m/%Y}",
            f"{day.day} {day.month} {day.year}",
        }
    return values


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=case_details(), named=contacts)
def test_a_contacts_page_and_messages_never_contain_anything_of_the_case(
    case: PersonDetails, named: list[tuple[str, str, str]]
) -> None:
    today = timezone.localdate()
    issued = case_with_link(today=today, details=case)
    link = SelfServiceLink.objects.get(case=issued.case)
    save_answers(
        link=link,
        answers=CaseAnswers(
            symptoms="no",
            contacts=[
                ContactAnswer(
                    given_name=given,
                    family_name=family,
                    phone="",
                    email=f"{given.lower()}.{family.lower()}@example.net",
                    last_contact=(today - timedelta(days=1)).isoformat(),
                    proximity=proximity,
                )
                for given, family, proximity in named
            ],
        ),
    )
    submit_answers(link=link, today=today)
    case_values = forms_of(case, issued.case.specimen_date)

    for exposure in Exposure.objects.filter(case=issued.case):
        seen = [
            message_body(message)
            for message in Message.objects.filter(person_id=exposure.contact_id).select_related(
                "template", "data_key"
            )
        ]
        contact_link = SelfServiceLink.objects.get(exposure=exposure)
        client = Client()
        session = client.session
        session[VISITOR_SESSION_KEY] = {
            "person_id": exposure.contact_id,
            "role": "contact",
            "case_id": None,
            "exposure_id": exposure.pk,
            "link_id": contact_link.pk,
            "seen": 1e12,  # far future: never idle
        }
        session.save()
        for language in ("en", "cy"):
            client.cookies["django_language"] = language
            page = client.get("/your-isolation/")
            assert page.status_code == 200
            seen.append(page.content.decode())
        assert len(seen) >= 3
        for text in seen:
            leaked = sorted(value for value in case_values if value in text)
            assert leaked == [], f"the contact was shown the case's {leaked}"
