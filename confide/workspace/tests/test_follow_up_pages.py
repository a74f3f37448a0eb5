"""Call handlers' daily follow-up pages: today's queue, one contact at a time, and the
check-in form; supervisors see today's counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client

from confide.cases.models import Case
from confide.people.details import PersonDetails
from confide.people.services import create_person
from confide.privacy.models import AccessEvent
from confide.staff.models import Role, StaffMember
from confide.tracing.follow_up import open_follow_ups
from confide.tracing.models import Exposure, FollowUp, FollowUpOutcome, FollowUpStatus, Proximity
from confide.tracing.services import record_exposure
from confide.workqueue.models import WorkItem, WorkKind, WorkState
from confide.workspace.follow_up_selectors import PURPOSE_FOLLOW_UP
from confide.workspace.tests.conftest import StaffMaker, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def exposure(case: Case, today: date) -> Exposure:
    """A contact named yesterday, so their first daily check is today."""
    contact = create_person(
        details=PersonDetails(
            given_name="Ottoline",
            family_name="Brackenbury",
            phone="07700 900123",
            email="ottoline@example.org",
        )
    )
    exposure = record_exposure(
        case=case,
        contact=contact,
        last_contact=today - timedelta(days=2),
        proximity=Proximity.HOUSEHOLD,
        today=today - timedelta(days=1),
        notify=False,
    )
    open_follow_ups(today=today)
    return exposure


@pytest.fixture
def call_handler(make_staff: StaffMaker) -> StaffMember:
    return make_staff(Role.CALL_HANDLER)


@pytest.fixture
def call_handler_client(call_handler: StaffMember) -> Client:
    return sign_in(Client(), call_handler)


def claim(client: Client) -> WorkItem:
    response = client.post("/work/follow-ups/next/")
    assert response.status_code == 302
    item = WorkItem.objects.get(kind=WorkKind.FOLLOW_UP, state=WorkState.CLAIMED)
    assert response["Location"] == f"/work/follow-ups/{item.pk}/"
    return item


def test_the_queue_page_counts_todays_calls_and_names_nobody(
    call_handler_client: Client, exposure: Exposure
) -> None:
    page = call_handler_client.get("/work/follow-ups/").content.decode()

    assert "Follow-ups due today" in page
    assert "Get the next follow-up call" in page
    assert "Ottoline" not in page
    assert not AccessEvent.objects.exists()


def test_a_call_handler_sees_only_what_the_call_needs_and_the_read_is_logged(
    call_handler_client: Client, call_handler: StaffMember, exposure: Exposure, today: date
) -> None:
    item = claim(call_handler_client)

    page = call_handler_client.get(f"/work/follow-ups/{item.pk}/").content.decode()

    assert "Ottoline" in page
    assert "07700 900123" in page
    assert "Day 2 of" in page
    assert f"{exposure.isolation_ends_on:%-d %B %Y}" in page
    for withheld in ("Brackenbury", "ottoline@example.org", "Marguerite", "Quillfeather"):
        assert withheld not in page
    event = AccessEvent.objects.get(purpose=PURPOSE_FOLLOW_UP)
    assert event.actor_reference == call_handler.reference
    assert event.subject_reference == exposure.contact.reference


def test_the_general_item_page_sends_a_follow_up_to_its_own_page(
    call_handler_client: Client, exposure: Exposure
) -> None:
    item = claim(call_handler_client)

    response = call_handler_client.get(f"/work/items/{item.pk}/")

    assert response.status_code == 302
    assert response["Location"] == f"/work/follow-ups/{item.pk}/"


def test_recording_a_well_contact_finishes_the_call(
    call_handler_client: Client, exposure: Exposure, today: date
) -> None:
    item = claim(call_handler_client)

    response = call_handler_client.post(
        f"/work/follow-ups/{item.pk}/", {"outcome": FollowUpOutcome.WELL}, follow=True
    )

    assert "Check-in recorded." in response.content.decode()
    follow_up = FollowUp.objects.get(exposure=exposure, due_on=today)
    assert (follow_up.status, follow_up.outcome) == (FollowUpStatus.DONE, FollowUpOutcome.WELL)


def test_symptoms_without_an_onset_date_show_an_error_and_save_nothing(
    call_handler_client: Client, exposure: Exposure, today: date
) -> None:
    item = claim(call_handler_client)

    response = call_handler_client.post(
        f"/work/follow-ups/{item.pk}/", {"outcome": FollowUpOutcome.SYMPTOMS}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "Enter the date their symptoms started" in page
    assert FollowUp.objects.get(exposure=exposure, due_on=today).status == FollowUpStatus.DUE


def test_symptoms_with_an_onset_date_raise_a_clinical_call(
    call_handler_client: Client, exposure: Exposure, today: date
) -> None:
    item = claim(call_handler_client)

    call_handler_client.post(
        f"/work/follow-ups/{item.pk}/",
        {
            "outcome": FollowUpOutcome.SYMPTOMS,
            "symptom_onset_day": today.day,
            "symptom_onset_month": today.month,
            "symptom_onset_year": today.year,
        },
    )

    assert WorkItem.objects.filter(kind=WorkKind.CONTACT_SYMPTOMS, exposure=exposure).exists()


def test_a_clinician_does_not_take_follow_up_calls(
    clinician_client: Client, exposure: Exposure
) -> None:
    assert clinician_client.get("/work/follow-ups/").status_code == 403
    assert clinician_client.post("/work/follow-ups/next/").status_code == 403


def test_a_call_handler_cannot_open_a_colleagues_follow_up(
    call_handler_client: Client, make_staff: StaffMaker, exposure: Exposure
) -> None:
    item = claim(call_handler_client)
    colleague = sign_in(Client(), make_staff(Role.CALL_HANDLER))

    assert colleague.get(f"/work/follow-ups/{item.pk}/").status_code == 404


def test_the_supervisor_dashboard_shows_todays_follow_ups(
    make_staff: StaffMaker, call_handler_client: Client, exposure: Exposure
) -> None:
    item = claim(call_handler_client)
    call_handler_client.post(
        f"/work/follow-ups/{item.pk}/", {"outcome": FollowUpOutcome.UNREACHABLE}
    )
    supervisor = sign_in(Client(), make_staff(Role.SUPERVISOR))

    page = supervisor.get("/supervise/").content.decode()

    assert "Daily follow-up calls today" in page
    assert "Ottoline" not in page
    assert FollowUp.objects.filter(status=FollowUpStatus.MISSED).count() == 1
