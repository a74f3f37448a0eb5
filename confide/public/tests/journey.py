"""Shared steps for the public-page tests: a case with a link, reading a queued message the way
the dispatcher would (decrypted through the messaging services), verifying through the pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.test import Client

from confide.cases.models import Case
from confide.cases.tests.factories import CaseFactory
from confide.messaging.dispatch import envelope_for
from confide.messaging.models import Message
from confide.messaging.template_types import TemplateKind
from confide.people.details import PersonDetails
from confide.people.tests.factories import PersonFactory
from confide.public.links import offer_self_service
from confide.workqueue.services import enqueue_case_interview

CASE_DOB = date(1984, 6, 2)
CASE_DETAILS = PersonDetails(
    given_name="Perpetua",
    family_name="Quarrington",
    date_of_birth=CASE_DOB,
    nhs_number="9434765919",
    phone="07700 900456",
    email="perpetua.quarrington@example.org",
    address="12 Ashgrove Terrace",
    postcode="CR2 6XH",
)


@dataclass(frozen=True)
class CaseWithLink:
    case: Case
    token: str
    message: Message


def message_body(message: Message) -> str:
    envelope = envelope_for(message)
    return f"{envelope.subject}\n{envelope.body}"


def token_in(body: str) -> str:
    found = re.search(r"/p/([A-Za-z0-9_\-]+)/", body)
    assert found, "no self-service link in the message"
    return found[1]


def code_in(body: str) -> str:
    found = re.search(r"\b(\d{6})\b", body)
    assert found, "no security code in the message"
    return found[1]


def latest(kind: str, **filters: object) -> Message:
    return (
        Message.objects.filter(template__kind=kind, **filters)
        .select_related("template", "data_key")
        .latest("pk")
    )


def case_with_link(*, today: date, details: PersonDetails = CASE_DETAILS) -> CaseWithLink:
    case = CaseFactory.create(
        person=PersonFactory.create(details=details),
        specimen_date=today - timedelta(days=2),
        today=today,
    )
    enqueue_case_interview(case=case)
    (message,) = offer_self_service(cases=[case])
    message = Message.objects.select_related("template", "data_key").get(pk=message.pk)
    return CaseWithLink(case=case, token=token_in(message_body(message)), message=message)


def date_parts(name: str, value: date) -> dict[str, str]:
    return {
        f"{name}_day": str(value.day),
        f"{name}_month": str(value.month),
        f"{name}_year": str(value.year),
    }


def verify(client: Client, token: str, *, date_of_birth: date, person_id: int) -> None:
    """Through the real pages: date of birth, then the code read from the queued message."""
    response = client.post(f"/p/{token}/", date_parts("date_of_birth", date_of_birth))
    assert response.status_code == 302, response.status_code
    code = code_in(message_body(latest(TemplateKind.VERIFICATION_CODE, person_id=person_id)))
    response = client.post(f"/p/{token}/code/", {"code": code})
    assert response.status_code == 302, response.content.decode()[:2000]
