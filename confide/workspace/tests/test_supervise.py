"""The supervisor's dashboard (counts and references) and the population search."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from confide.cases.models import Case
from confide.cases.tests.factories import CaseFactory
from confide.people.selectors import person_details
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.privacy.models import AccessAction, AccessEvent
from confide.staff.models import Role, StaffMember, Team, Tier
from confide.staff.services import staff_contact_details
from confide.workqueue.models import WorkItem, WorkState
from confide.workqueue.services import claim_next, complete_item, enqueue_case_interview
from confide.workspace.tests.conftest import StaffMaker, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def team() -> Team:
    return Team.objects.create(name="Clinical North", tier=Tier.CLINICAL)


@pytest.fixture
def supervisor(make_staff: StaffMaker) -> StaffMember:
    return make_staff(Role.SUPERVISOR)


@pytest.fixture
def supervisor_client(supervisor: StaffMember) -> Client:
    return sign_in(Client(), supervisor)


# Distinctive names, so a tracer's (Faker) name on the dashboard cannot contain them by chance.
CASE_SURNAMES = ("Brackenbury", "Cotterill", "Dunstable", "Eversleigh")


def new_cases(n: int, today: date) -> list[Case]:
    return [
        CaseFactory.create(
            person=PersonFactory.create(
                details=PersonDetailsFactory.build(given_name="Alouette", family_name=surname)
            ),
            specimen_date=today - timedelta(days=2),
            today=today,
        )
        for surname in CASE_SURNAMES[:n]
    ]


def cells(html: str) -> str:
    return " ".join(html.split())


def test_the_dashboard_shows_counts_per_tier_and_team_and_no_case_personal_data(
    supervisor_client: Client, make_staff: StaffMaker, team: Team, today: date
):
    cases = new_cases(4, today)
    for case in cases:
        enqueue_case_interview(case=case)
    first, second = make_staff(Role.CLINICIAN, team=team), make_staff(Role.CLINICIAN, team=team)
    done = claim_next(tracer=first)
    assert done is not None
    complete_item(item=done, by=first)
    claim_next(tracer=first)
    claim_next(tracer=second)

    html = cells(supervisor_client.get("/supervise/").content.decode())

    clinical_row = html.split(Tier.CLINICAL.label)[1].split("</tr>")[0]
    numbers = [
        part.split("</td>")[0] for part in clinical_row.split('govuk-table__cell--numeric">')[1:]
    ]
    assert numbers == ["1", "0", "2", "1"]  # waiting, retry later, with a tracer, done in 24h
    team_row = html.split("Clinical North")[1].split("</tr>")[0]
    assert [p.split("</td>")[0] for p in team_row.split('--numeric">')[1:]] == ["2", "2", "1"]
    for case in cases:
        details = person_details(case.person)
        assert details.given_name not in html
        assert details.family_name not in html
    assert not AccessEvent.objects.exists()


def test_a_trained_supervisor_sees_who_holds_each_item_and_can_reassign_it(
    supervisor_client: Client, make_staff: StaffMaker, interview: WorkItem
):
    holder, other = make_staff(Role.CLINICIAN), make_staff(Role.CLINICIAN)
    make_staff(Role.CALL_HANDLER)
    claim_next(tracer=holder)

    html = supervisor_client.get("/supervise/").content.decode()
    assert (staff_contact_details(holder)["display_name"] or "?") in html
    assert f'value="{other.reference}"' in html
    assert f'value="{holder.reference}"' not in html  # not offered back to its holder

    response = supervisor_client.post(
        f"/supervise/items/{interview.pk}/reassign/",
        {f"item-{interview.pk}-to": str(other.reference)},
        follow=True,
    )

    interview.refresh_from_db()
    assert f"Item {interview.pk} reassigned" in response.content.decode()
    assert interview.claimed_by == other
    assert interview.state == WorkState.CLAIMED


def test_an_item_cannot_be_given_to_a_tracer_of_another_tier(
    supervisor_client: Client, make_staff: StaffMaker, interview: WorkItem
):
    holder, call_handler = make_staff(Role.CLINICIAN), make_staff(Role.CALL_HANDLER)
    claim_next(tracer=holder)

    response = supervisor_client.post(
        f"/supervise/items/{interview.pk}/reassign/",
        {f"item-{interview.pk}-to": str(call_handler.reference)},
    )

    interview.refresh_from_db()
    assert "Choose a tracer who works in this item" in response.content.decode()
    assert interview.claimed_by == holder


def test_an_untrained_supervisor_sees_counts_but_no_names(
    make_staff: StaffMaker, interview: WorkItem
):
    holder = make_staff(Role.CLINICIAN)
    claim_next(tracer=holder)
    supervisor = sign_in(Client(), make_staff(Role.SUPERVISOR, trained=False))

    html = supervisor.get("/supervise/").content.decode()

    assert "Complete your data protection training" in html
    assert (staff_contact_details(holder)["display_name"] or "?") not in html
    assert "/reassign/" not in html


def test_tracers_cannot_see_the_dashboard_or_search(clinician_client: Client):
    assert clinician_client.get("/supervise/").status_code == 403
    assert clinician_client.get("/supervise/search/").status_code == 403


def test_the_population_search_logs_its_purpose_and_shows_only_references(
    supervisor_client: Client, supervisor: StaffMember, case: Case
):
    details = person_details(case.person)

    response = supervisor_client.post(
        "/supervise/search/",
        {"phone": details.phone, "purpose": "Caller asked whether we hold their record"},
    )

    html = response.content.decode()
    assert str(case.reference) in html
    assert str(case.person.reference) in html
    assert details.given_name not in html
    assert details.family_name not in html
    event = AccessEvent.objects.get()
    assert event.action == AccessAction.SEARCH
    assert event.purpose == "Caller asked whether we hold their record"
    assert event.actor_reference == supervisor.reference
    assert event.subject_reference == case.person.reference


def test_a_search_that_finds_nothing_is_logged_too(supervisor_client: Client):
    response = supervisor_client.post(
        "/supervise/search/", {"email": "nobody@example.org", "purpose": "Subject access request"}
    )

    assert "We do not hold a record with these details" in response.content.decode()
    event = AccessEvent.objects.get()
    assert event.action == AccessAction.SEARCH
    assert event.subject_reference is None


def test_a_search_needs_a_purpose_and_an_identifier_and_logs_nothing_without_them(
    supervisor_client: Client,
):
    response = supervisor_client.post("/supervise/search/", {"purpose": ""})

    html = response.content.decode()
    assert "Say why you need to search" in html
    assert "Enter an NHS number, a phone number or an email address" in html
    assert not AccessEvent.objects.exists()


def test_the_dashboard_shows_how_long_the_oldest_item_has_waited(
    supervisor_client: Client, interview: WorkItem
):
    WorkItem.objects.filter(pk=interview.pk).update(
        created_at=timezone.now() - timedelta(hours=3, minutes=5)
    )

    html = supervisor_client.get("/supervise/").content.decode()

    assert "3 hours 5 minutes" in html
