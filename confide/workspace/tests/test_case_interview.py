"""A clinician claims a case, interviews them, records contacts, places and calls."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client

from confide.cases.models import Case, CaseStatus
from confide.messaging.models import Message
from confide.people.details import PersonDetails
from confide.people.models import Person, SafeguardingKind
from confide.people.selectors import person_details
from confide.people.services import create_person, set_safeguarding_flag
from confide.people.tests.factories import PersonFactory
from confide.privacy.models import AccessAction, AccessEvent
from confide.staff.models import Role, StaffMember, Tier
from confide.tracing.models import Exposure, NotificationState, Proximity, SettingKind
from confide.workqueue.models import CallAttempt, CallOutcome, WorkItem, WorkKind, WorkState
from confide.workqueue.services import claim_next
from confide.workspace.selectors import phone_for_display
from confide.workspace.tests.conftest import StaffMaker, sign_in

pytestmark = pytest.mark.django_db


def item_url(item: WorkItem, suffix: str = "") -> str:
    return f"/work/items/{item.pk}/{suffix}"


def date_fields(name: str, day: date) -> dict[str, str]:
    return {
        f"{name}_day": str(day.day),
        f"{name}_month": str(day.month),
        f"{name}_year": str(day.year),
    }


def contact_form(today: date, **overrides: str) -> dict[str, str]:
    data = {
        "given_name": "Olu",
        "family_name": "Adebayo",
        "phone": "",
        "email": "",
        "nhs_number": "",
        "proximity": Proximity.CLOSE,
        **date_fields("last_contact", today - timedelta(days=1)),
    }
    data.update(overrides)
    return data


@pytest.fixture
def claimed(interview: WorkItem, clinician: StaffMember) -> WorkItem:
    item = claim_next(tracer=clinician)
    assert item == interview
    return item


# --- claim and view -------------------------------------------------------------------------


def test_claiming_then_opening_the_item_shows_the_person_and_logs_the_access_with_its_purpose(
    clinician_client: Client, clinician: StaffMember, interview: WorkItem, case: Case
):
    response = clinician_client.post("/work/next/")
    assert response.status_code == 302
    assert response["Location"] == item_url(interview)

    page = clinician_client.get(item_url(interview))

    details = person_details(case.person)
    html = page.content.decode()
    assert page.status_code == 200
    assert details.given_name in html
    assert details.family_name in html
    assert phone_for_display(details.phone) in html
    assert details.email in html
    assert details.address in html
    assert f"{case.infectious_from:%-d %B %Y} to {case.infectious_until:%-d %B %Y}" in html
    event = AccessEvent.objects.get(subject_reference=case.person.reference)
    assert event.action == AccessAction.VIEW
    assert event.purpose == "case interview"
    assert event.actor_reference == clinician.reference


def test_a_second_tracer_cannot_open_the_first_tracers_item(
    claimed: WorkItem, make_staff: StaffMaker
):
    other = sign_in(Client(), make_staff(Role.CLINICIAN))

    for suffix in ("", "contacts/add/", "places/add/", "escalate/"):
        assert other.get(item_url(claimed, suffix)).status_code == 404
    assert other.post(item_url(claimed, "calls/"), {"call-outcome": "no_answer"}).status_code == 404
    assert other.post(item_url(claimed, "hand-back/")).status_code == 404
    assert not AccessEvent.objects.exists()
    assert not CallAttempt.objects.exists()


def test_an_item_that_does_not_exist_is_not_found(clinician_client: Client):
    assert clinician_client.get("/work/items/999999/").status_code == 404


def test_a_safeguarded_address_is_never_shown_and_the_flags_are(
    clinician_client: Client, claimed: WorkItem, case: Case
):
    set_safeguarding_flag(person=case.person, kind=SafeguardingKind.DO_NOT_DISCLOSE_ADDRESS)
    set_safeguarding_flag(person=case.person, kind=SafeguardingKind.RISK_FROM_HOUSEHOLD)

    html = clinician_client.get(item_url(claimed)).content.decode()

    details = person_details(case.person)
    assert details.address not in html
    assert details.postcode not in html
    assert "Withheld for their safety" in html
    assert SafeguardingKind.DO_NOT_DISCLOSE_ADDRESS.label in html
    assert SafeguardingKind.RISK_FROM_HOUSEHOLD.label in html


# --- contacts -------------------------------------------------------------------------------


def test_three_contacts_one_already_known_by_phone_are_linked_not_duplicated_and_each_notified(
    clinician_client: Client, claimed: WorkItem, case: Case, today: date
):
    known = create_person(
        details=PersonDetails(given_name="Priya", family_name="Vantongeren", phone="07700 900123")
    )
    people_before = Person.objects.count()

    first = clinician_client.post(
        item_url(claimed, "contacts/add/"),
        contact_form(today, given_name="Olu", email="olu@example.org"),
    )
    second = clinician_client.post(
        item_url(claimed, "contacts/add/"),
        contact_form(today, given_name="Priya", family_name="", phone="+44 7700 900123"),
        follow=True,
    )
    third = clinician_client.post(
        item_url(claimed, "contacts/add/"),
        contact_form(today, given_name="Sam", phone="07700 900456", proximity=Proximity.HOUSEHOLD),
    )

    assert first.status_code == third.status_code == 302
    assert "This person is already known to us; we linked them" in second.content.decode()
    assert "Vantongeren" not in second.content.decode()  # the stored details are not shown
    assert Person.objects.count() == people_before + 2
    exposures = list(Exposure.objects.filter(case=case).select_related("notification_message"))
    assert len(exposures) == 3
    assert known.pk in {e.contact_id for e in exposures}
    assert Message.objects.count() == 3
    for exposure in exposures:
        assert exposure.notification_state == NotificationState.QUEUED
        message = exposure.notification_message
        assert message is not None
        assert message.person_id == exposure.contact_id
        assert Message.objects.filter(person=exposure.contact).count() == 1
    assert not Message.objects.filter(person=case.person).exists()


def test_the_interview_lists_contacts_by_first_name_with_their_notification_state(
    clinician_client: Client, claimed: WorkItem, today: date
):
    clinician_client.post(
        item_url(claimed, "contacts/add/"),
        contact_form(today, given_name="Olu", family_name="Adebayo", email="olu@example.org"),
    )

    html = clinician_client.get(item_url(claimed)).content.decode()

    assert "Olu" in html
    assert "Adebayo" not in html
    assert "Notification queued" in html
    assert f"{today + timedelta(days=9):%-d %B %Y}" in html  # 10 days from the last contact


def test_a_shared_phone_with_a_different_first_name_is_a_different_person(
    clinician_client: Client, claimed: WorkItem, today: date
):
    mother = create_person(details=PersonDetails(given_name="Grace", phone="07700 900777"))

    clinician_client.post(
        item_url(claimed, "contacts/add/"),
        contact_form(today, given_name="Tom", phone="07700 900777"),
    )

    exposure = Exposure.objects.get()
    assert exposure.contact_id != mother.pk
    assert person_details(exposure.contact).given_name == "Tom"


def test_a_known_nhs_number_links_the_person(
    clinician_client: Client, claimed: WorkItem, today: date
):
    known = PersonFactory.create()
    nhs_number = person_details(known).nhs_number

    response = clinician_client.post(
        item_url(claimed, "contacts/add/"),
        contact_form(today, given_name="Someone", nhs_number=nhs_number, email="x@example.org"),
        follow=True,
    )

    assert Exposure.objects.get().contact_id == known.pk
    assert "This person is already known to us; we linked them" in response.content.decode()


def test_an_invalid_contact_shows_each_error_and_saves_nothing(
    clinician_client: Client, claimed: WorkItem, today: date
):
    people_before = Person.objects.count()

    response = clinician_client.post(
        item_url(claimed, "contacts/add/"),
        {
            "given_name": "",
            "phone": "not a phone",
            "last_contact_day": "31",
            "last_contact_month": "2",
            "last_contact_year": str(today.year),
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in html
    assert 'href="#id_given_name">Enter their first name' in html
    assert "The date of last contact must be a real date" in html
    assert "Choose how they were in contact" in html
    assert "<title>Error: " in html
    assert Person.objects.count() == people_before
    assert not Exposure.objects.exists()


def test_a_contact_outside_the_infectious_period_saves_no_person(
    clinician_client: Client, claimed: WorkItem, case: Case, today: date
):
    people_before = Person.objects.count()
    too_early = case.infectious_from - timedelta(days=1)

    response = clinician_client.post(
        item_url(claimed, "contacts/add/"),
        contact_form(today, email="early@example.org", **date_fields("last_contact", too_early)),
    )

    assert "must be during the case&#x27;s infectious period" in response.content.decode()
    assert Person.objects.count() == people_before
    assert not Message.objects.exists()


def test_a_contact_needs_a_phone_number_or_an_email_address(
    clinician_client: Client, claimed: WorkItem, today: date
):
    response = clinician_client.post(item_url(claimed, "contacts/add/"), contact_form(today))

    assert "Enter a phone number or an email address" in response.content.decode()
    assert not Exposure.objects.exists()


# --- calls ----------------------------------------------------------------------------------


def test_no_answer_puts_the_case_back_in_the_queue_with_the_retry_time(
    clinician_client: Client, claimed: WorkItem, case: Case
):
    response = clinician_client.post(
        item_url(claimed, "calls/"), {"call-outcome": CallOutcome.NO_ANSWER}, follow=True
    )

    claimed.refresh_from_db()
    case.refresh_from_db()
    assert response.redirect_chain[-1][0] == "/work/"
    assert "Call recorded; we will try again after " in response.content.decode()
    assert claimed.state == WorkState.WAITING
    assert claimed.claimed_by is None
    assert case.status == CaseStatus.NEW
    assert CallAttempt.objects.get().outcome == CallOutcome.NO_ANSWER


def test_the_attempt_log_lists_earlier_calls(
    clinician_client: Client, claimed: WorkItem, clinician: StaffMember
):
    clinician_client.post(item_url(claimed, "calls/"), {"call-outcome": CallOutcome.BUSY})
    claim_next(tracer=clinician, now=claimed.available_at + timedelta(hours=8))

    html = clinician_client.get(item_url(claimed)).content.decode()

    assert "Line busy" in html


def test_a_completed_call_keeps_the_case_with_the_tracer(
    clinician_client: Client, claimed: WorkItem, case: Case
):
    response = clinician_client.post(
        item_url(claimed, "calls/"), {"call-outcome": CallOutcome.COMPLETED}
    )

    claimed.refresh_from_db()
    case.refresh_from_db()
    assert response["Location"] == item_url(claimed)
    assert claimed.state == WorkState.CLAIMED
    assert case.status == CaseStatus.IN_PROGRESS


def test_a_refusal_closes_the_item(clinician_client: Client, claimed: WorkItem, case: Case):
    response = clinician_client.post(
        item_url(claimed, "calls/"), {"call-outcome": CallOutcome.REFUSED}, follow=True
    )

    claimed.refresh_from_db()
    case.refresh_from_db()
    assert "they refused to take part" in response.content.decode()
    assert claimed.state == WorkState.DONE
    assert case.status == CaseStatus.COMPLETED


def test_the_last_attempt_the_policy_allows_marks_the_case_unreachable(
    clinician_client: Client, claimed: WorkItem, case: Case
):
    WorkItem.objects.filter(pk=claimed.pk).update(attempts=case.policy.max_call_attempts - 1)

    response = clinician_client.post(
        item_url(claimed, "calls/"), {"call-outcome": CallOutcome.NO_ANSWER}, follow=True
    )

    case.refresh_from_db()
    assert "marked as unreachable" in response.content.decode()
    assert case.status == CaseStatus.UNREACHABLE


def test_recording_a_call_without_an_outcome_shows_an_error(
    clinician_client: Client, claimed: WorkItem
):
    response = clinician_client.post(item_url(claimed, "calls/"), {})

    html = response.content.decode()
    assert 'href="#id_call-outcome">Choose what happened on the call' in html
    assert not CallAttempt.objects.exists()


# --- escalation and places ------------------------------------------------------------------


def test_escalating_moves_the_case_to_the_other_tiers_queue(
    clinician_client: Client, claimed: WorkItem, case: Case
):
    response = clinician_client.post(
        item_url(claimed, "escalate/"),
        {"to_tier": str(Tier.LOCAL_HEALTH_PROTECTION), "reason": "Works in a care home"},
        follow=True,
    )

    claimed.refresh_from_db()
    case.refresh_from_db()
    assert "Case escalated to tier 1" in response.content.decode()
    assert claimed.state == WorkState.CANCELLED
    assert case.status == CaseStatus.ESCALATED
    assert case.tier == Tier.LOCAL_HEALTH_PROTECTION
    new_item = WorkItem.objects.get(case=case, state=WorkState.WAITING)
    assert new_item.tier == Tier.LOCAL_HEALTH_PROTECTION
    assert new_item.reason == "Works in a care home"


def test_escalation_needs_a_tier_and_a_reason(clinician_client: Client, claimed: WorkItem):
    response = clinician_client.post(item_url(claimed, "escalate/"), {"reason": " "})

    html = response.content.decode()
    assert "Choose who should take this case" in html
    assert "Say why you are escalating the case" in html
    claimed.refresh_from_db()
    assert claimed.state == WorkState.CLAIMED


def test_escalation_offers_only_the_other_tiers(clinician_client: Client, claimed: WorkItem):
    html = clinician_client.get(item_url(claimed, "escalate/")).content.decode()

    assert Tier.LOCAL_HEALTH_PROTECTION.label in html
    assert Tier.CALL_HANDLING.label in html
    assert Tier.CLINICAL.label not in html


def place_form(kind: str, visited_on: date, name: str = "", postcode: str = "M1 1AE"):
    return {
        "kind": kind,
        "name": name,
        "postcode": postcode,
        **date_fields("visited_on", visited_on),
    }


def test_a_care_home_visit_queues_a_tier_one_review_with_a_banner(
    clinician_client: Client, claimed: WorkItem, case: Case, today: date
):
    response = clinician_client.post(
        item_url(claimed, "places/add/"),
        place_form(SettingKind.CARE_HOME, today - timedelta(days=1), name="Larchfield House"),
        follow=True,
    )

    html = response.content.decode()
    assert "local health protection (tier 1) will review it" in html
    assert "Larchfield House" in html
    review = WorkItem.objects.get(kind=WorkKind.SETTING_REVIEW)
    assert review.tier == Tier.LOCAL_HEALTH_PROTECTION
    assert review.setting is not None
    assert review.setting.name == "Larchfield House"
    assert review.setting.visits.get().case_id == case.pk


def test_a_workplace_visit_raises_no_review(
    clinician_client: Client, claimed: WorkItem, today: date
):
    clinician_client.post(
        item_url(claimed, "places/add/"),
        place_form(SettingKind.WORKPLACE, today, name="Brightwater Printing"),
    )

    assert not WorkItem.objects.filter(kind=WorkKind.SETTING_REVIEW).exists()


def test_a_place_needs_a_name_unless_it_is_a_household(
    clinician_client: Client, claimed: WorkItem, today: date
):
    response = clinician_client.post(
        item_url(claimed, "places/add/"), place_form(SettingKind.SCHOOL, today)
    )

    assert "Enter the name of the place" in response.content.decode()
    assert not WorkItem.objects.filter(kind=WorkKind.SETTING_REVIEW).exists()


def test_a_second_case_at_the_same_school_flags_a_cluster(
    clinician_client: Client, claimed: WorkItem, today: date, make_staff: StaffMaker
):
    from confide.cases.tests.factories import CaseFactory
    from confide.tracing.services import record_setting_visit

    other = CaseFactory.create(specimen_date=today - timedelta(days=3), today=today)
    record_setting_visit(
        case=other,
        kind=SettingKind.SCHOOL,
        name="Hollins Primary School",
        postcode="M1 1AE",
        visited_on=today - timedelta(days=3),
    )
    WorkItem.objects.filter(kind=WorkKind.SETTING_REVIEW).update(state=WorkState.DONE)

    response = clinician_client.post(
        item_url(claimed, "places/add/"),
        place_form(SettingKind.SCHOOL, today - timedelta(days=1), name="hollins primary school"),
        follow=True,
    )

    assert "possible cluster" in response.content.decode()
    review = WorkItem.objects.get(kind=WorkKind.SETTING_REVIEW, state=WorkState.WAITING)
    assert review.reason == "cluster: 2 cases"


# --- finishing ------------------------------------------------------------------------------


def test_completing_the_interview_completes_the_case(
    clinician_client: Client, claimed: WorkItem, case: Case
):
    response = clinician_client.post(
        item_url(claimed, "complete/"), {"complete-outcome": "no_contacts"}, follow=True
    )

    claimed.refresh_from_db()
    case.refresh_from_db()
    assert "Interview completed" in response.content.decode()
    assert claimed.state == WorkState.DONE
    assert case.status == CaseStatus.COMPLETED
    assert case.outcome.startswith("Interview completed: they had no contacts")


def test_completing_needs_an_outcome(clinician_client: Client, claimed: WorkItem):
    response = clinician_client.post(item_url(claimed, "complete/"), {})

    assert "Choose how the interview ended" in response.content.decode()
    claimed.refresh_from_db()
    assert claimed.state == WorkState.CLAIMED


def test_handing_back_returns_the_case_to_the_queue(
    clinician_client: Client, claimed: WorkItem, case: Case
):
    response = clinician_client.post(item_url(claimed, "hand-back/"), follow=True)

    claimed.refresh_from_db()
    case.refresh_from_db()
    assert "You handed it back to the queue" in response.content.decode()
    assert claimed.state == WorkState.WAITING
    assert case.status == CaseStatus.NEW
    assert clinician_client.get(item_url(claimed)).status_code == 404


def test_an_outcome_the_case_cannot_take_now_is_an_error_not_a_crash(
    clinician_client: Client, claimed: WorkItem, monkeypatch: pytest.MonkeyPatch
):
    from confide.cases.transitions import TransitionNotAllowed
    from confide.workspace import views

    def refuse(**kwargs: object) -> None:
        raise TransitionNotAllowed("in_progress", "in_progress")

    monkeypatch.setattr(views, "record_call", refuse)

    response = clinician_client.post(item_url(claimed, "calls/"), {"call-outcome": "refused"})

    assert response.status_code == 200
    assert "This outcome cannot be recorded now" in response.content.decode()
