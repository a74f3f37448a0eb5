"""A call handler phones a contact: the contact's own details, never the case's."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.test import Client

from confide.cases.models import Case
from confide.people.details import PersonDetails
from confide.people.models import Person, SafeguardingKind
from confide.people.selectors import person_details
from confide.people.services import create_person, set_safeguarding_flag
from confide.privacy.models import AccessEvent
from confide.staff.models import Role, StaffMember
from confide.tracing.models import Exposure, NotificationState, Proximity
from confide.tracing.services import record_exposure
from confide.workqueue.models import CallOutcome, WorkItem, WorkKind, WorkState
from confide.workqueue.services import claim_next
from confide.workspace.tests.conftest import StaffMaker, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone_only_contact() -> Person:
    """A contact who may only be phoned, so notify_contact asks a call handler to call."""
    person = create_person(
        details=PersonDetails(given_name="Ifeoma", family_name="Okafor", phone="07700 900555")
    )
    set_safeguarding_flag(person=person, kind=SafeguardingKind.PHONE_ONLY)
    return person


@pytest.fixture
def exposure(case: Case, phone_only_contact: Person, today: date) -> Exposure:
    return record_exposure(
        case=case,
        contact=phone_only_contact,
        last_contact=today - timedelta(days=1),
        proximity=Proximity.HOUSEHOLD,
    )


@pytest.fixture
def call_handler(make_staff: StaffMaker) -> StaffMember:
    return make_staff(Role.CALL_HANDLER)


@pytest.fixture
def contact_call(exposure: Exposure, call_handler: StaffMember) -> WorkItem:
    item = claim_next(tracer=call_handler)
    assert item is not None
    assert item.kind == WorkKind.CONTACT_CALL
    return item


def test_a_contact_call_shows_the_contact_and_their_isolation_end_and_nothing_of_the_case(
    contact_call: WorkItem, call_handler: StaffMember, case: Case, exposure: Exposure
):
    client = sign_in(Client(), call_handler)

    html = client.get(f"/work/items/{contact_call.pk}/").content.decode()

    assert "Ifeoma" in html
    assert "Okafor" in html
    assert "07700 900555" in html
    assert f"{exposure.isolation_ends_on:%A %-d %B %Y}" in html
    case_details = person_details(case.person)
    for secret in (
        case_details.given_name,
        case_details.family_name,
        case_details.phone,
        case_details.email,
        case_details.address,
        str(case.reference),
    ):
        assert secret not in html
    for day in (exposure.last_contact_on, case.specimen_date):
        # A whole date: "4 December" must not match inside the isolation end "14 December".
        assert not re.search(rf"\b{day:%-d %B}\b", html), day
    events = list(AccessEvent.objects.filter(actor_reference__isnull=False))  # staff, not Confide
    assert [e.subject_reference for e in events] == [exposure.contact.reference]
    assert events[0].purpose == "contact call"


def test_completing_a_call_after_speaking_to_them_marks_them_notified(
    contact_call: WorkItem, call_handler: StaffMember, exposure: Exposure
):
    client = sign_in(Client(), call_handler)
    client.post(f"/work/items/{contact_call.pk}/calls/", {"call-outcome": CallOutcome.COMPLETED})

    response = client.post(f"/work/items/{contact_call.pk}/complete/", follow=True)

    contact_call.refresh_from_db()
    exposure.refresh_from_db()
    assert "Call completed" in response.content.decode()
    assert contact_call.state == WorkState.DONE
    assert exposure.notification_state == NotificationState.SENT


def test_a_contact_call_has_no_contact_or_place_pages(
    contact_call: WorkItem, call_handler: StaffMember
):
    client = sign_in(Client(), call_handler)

    for suffix in ("contacts/add/", "places/add/", "escalate/"):
        assert client.get(f"/work/items/{contact_call.pk}/{suffix}").status_code == 404
