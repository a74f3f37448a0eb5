"""The public side through its real pages (Django's test client, real middleware): links,
verification, the case's form, the contact's page, abuse resistance and languages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from confide.messaging.models import Message
from confide.messaging.template_types import TemplateKind
from confide.public.links import revoke_links, token_hash
from confide.public.models import CaseDraft, SelfServiceLink
from confide.public.periodic import queue_unfinished_cases
from confide.public.verification import MAX_FAILED_VERIFICATIONS
from confide.staff.models import Role
from confide.staff.tests.factories import StaffMemberFactory
from confide.tracing.models import Exposure
from confide.workqueue.models import WorkItem, WorkKind, WorkState

from .journey import (
    CASE_DETAILS,
    CASE_DOB,
    case_with_link,
    code_in,
    date_parts,
    latest,
    message_body,
    token_in,
    verify,
)

pytestmark = pytest.mark.django_db

CASE_VALUES = [
    CASE_DETAILS.given_name,
    CASE_DETAILS.family_name,
    CASE_DETAILS.nhs_number,
    CASE_DETAILS.email,
    CASE_DETAILS.address,
    CASE_DETAILS.postcode,
    "07700 900456",
    "+447700900456",
]


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture(autouse=True)
def _long_rate_window(settings: object) -> None:
    settings.CONFIDE_API_RATE_WINDOW_SECONDS = 3600  # type: ignore[attr-defined]


def add_contact(client: Client, today: date, n: int) -> None:
    response = client.post(
        "/self-service/contacts/add/",
        {
            "given_name": f"Contactname{n}",
            "family_name": "Tillinghast",
            "phone": "",
            "email": f"contact{n}@example.net",
            **date_parts("last_contact", today - timedelta(days=1)),
            "proximity": "household" if n == 0 else "close",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]


def test_a_new_case_gets_one_message_with_a_link_whose_token_is_stored_only_as_a_hash(today):
    issued = case_with_link(today=today)
    assert issued.message.template.kind == TemplateKind.CASE_SELF_SERVICE
    assert issued.message.person_id == issued.case.person_id
    link = SelfServiceLink.objects.get(case=issued.case)
    assert link.token_hash == token_hash(issued.token)
    assert issued.token not in str(SelfServiceLink.objects.filter(pk=link.pk).values().get())


def test_the_cases_interview_waits_for_the_self_service_window_then_goes_to_a_tracer(today):
    issued = case_with_link(today=today)
    item = WorkItem.objects.get(case=issued.case, kind=WorkKind.CASE_INTERVIEW)
    assert item.available_at > timezone.now() + timedelta(hours=23)
    assert queue_unfinished_cases() == 0
    later = timezone.now() + timedelta(hours=24, minutes=1)
    assert queue_unfinished_cases(now=later) == 1
    item.refresh_from_db()
    assert item.available_at <= later
    assert item.state == WorkState.WAITING
    assert queue_unfinished_cases(now=later) == 0


def test_a_wrong_date_of_birth_looks_exactly_like_a_right_one_and_sends_no_code(today):
    issued = case_with_link(today=today)
    client = Client()
    wrong = client.post(f"/p/{issued.token}/", date_parts("date_of_birth", date(1990, 1, 1)))
    assert wrong.status_code == 302
    assert wrong["Location"] == f"/p/{issued.token}/code/"
    assert not Message.objects.filter(template__kind=TemplateKind.VERIFICATION_CODE).exists()
    right = client.post(f"/p/{issued.token}/", date_parts("date_of_birth", CASE_DOB))
    assert right.status_code == 302
    assert right["Location"] == wrong["Location"]
    code_message = latest(TemplateKind.VERIFICATION_CODE)
    assert code_message.person_id == issued.case.person_id
    body = message_body(code_message)
    assert code_in(body)
    assert CASE_DETAILS.given_name not in body


def test_nothing_personal_is_shown_before_verification(today):
    issued = case_with_link(today=today)
    client = Client()
    for url in ("/self-service/", "/your-isolation/", f"/p/{issued.token}/"):
        page = client.get(url).content.decode()
        for value in CASE_VALUES:
            assert value not in page


def test_brute_force_on_the_code_locks_the_link_and_even_the_right_code_is_then_refused(today):
    issued = case_with_link(today=today)
    client = Client()
    client.post(f"/p/{issued.token}/", date_parts("date_of_birth", CASE_DOB))
    code = code_in(message_body(latest(TemplateKind.VERIFICATION_CODE)))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_FAILED_VERIFICATIONS):
        response = client.post(f"/p/{issued.token}/code/", {"code": wrong})
        assert response.status_code in (200, 410)
    response = client.post(f"/p/{issued.token}/code/", {"code": code})
    assert response.status_code == 410
    assert "This link cannot be used" in response.content.decode()
    assert SelfServiceLink.objects.get(case=issued.case).locked_at is not None
    assert client.get("/self-service/").content.decode().count("Open the link") >= 1


def test_a_code_allows_three_guesses_then_stops_working(today):
    issued = case_with_link(today=today)
    client = Client()
    client.post(f"/p/{issued.token}/", date_parts("date_of_birth", CASE_DOB))
    code = code_in(message_body(latest(TemplateKind.VERIFICATION_CODE)))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(3):
        client.post(f"/p/{issued.token}/code/", {"code": wrong})
    response = client.post(f"/p/{issued.token}/code/", {"code": code})
    assert response.status_code in (200, 410)
    assert "Tell us who you have been in contact with" not in response.content.decode()
    assert client.get("/self-service/").status_code == 200
    assert "Open the link" in client.get("/self-service/").content.decode()


def test_answers_for_one_link_are_rate_limited_even_when_each_is_right(today):
    issued = case_with_link(today=today)
    client = Client()
    dob = date_parts("date_of_birth", CASE_DOB)
    statuses = [client.post(f"/p/{issued.token}/", dob).status_code for _ in range(11)]
    assert statuses[:10] == [302] * 10
    assert statuses[10] == 429  # 10 a minute per link: no flood of codes to their phone
    assert Message.objects.filter(template__kind=TemplateKind.VERIFICATION_CODE).count() == 10


def test_requests_from_one_address_are_rate_limited_even_for_unknown_links(today):
    client = Client()
    statuses = [client.get(f"/p/unknown-token-{n}/").status_code for n in range(31)]
    assert statuses[:30] == [410] * 30
    assert statuses[30] == 429


def test_a_case_submits_three_contacts_each_gets_one_message_none_holding_the_case(today):
    issued = case_with_link(today=today)
    client = Client()
    verify(
        client,
        issued.token,
        date_of_birth=CASE_DOB,
        person_id=issued.case.person_id,
    )
    overview = client.get("/self-service/")
    assert overview.status_code == 200
    response = client.post(
        "/self-service/symptoms/",
        {"symptoms": "yes", **date_parts("symptom_onset", today - timedelta(days=3))},
    )
    assert response.status_code == 302
    response = client.post(
        "/self-service/places/add/",
        {
            "kind": "workplace",
            "name": "Brindlecombe Joinery",
            "postcode": "SW1A 1AA",
            **date_parts("visited_on", today - timedelta(days=2)),
        },
    )
    assert response.status_code == 302
    for n in range(3):
        add_contact(client, today, n)
    draft = CaseDraft.objects.get()
    assert draft.answers_sealed is not None
    assert b"Contactname0" not in bytes(draft.answers_sealed)

    response = client.post("/self-service/submit/")
    assert response.status_code == 302
    assert response["Location"] == "/self-service/sent/"

    exposures = Exposure.objects.filter(case=issued.case)
    assert exposures.count() == 3
    notifications = Message.objects.filter(template__kind=TemplateKind.CONTACT_NOTIFICATION)
    assert notifications.count() == 3
    assert {m.person_id for m in notifications} == {e.contact_id for e in exposures}
    for message in notifications.select_related("template", "data_key"):
        body = message_body(message)
        for value in [*CASE_VALUES, "Brindlecombe"]:
            assert value not in body
        assert token_in(body)
    assert not CaseDraft.objects.exists()
    issued.case.refresh_from_db()
    assert issued.case.symptom_onset == today - timedelta(days=3)
    # Single use: the link is spent.
    again = Client().get(f"/p/{issued.token}/")
    assert again.status_code == 410
    for value in CASE_VALUES:
        assert value not in again.content.decode()


def test_an_expired_link_shows_a_clear_page_and_nothing_personal(today):
    issued = case_with_link(today=today)
    SelfServiceLink.objects.filter(case=issued.case).update(expires_at=timezone.now())
    response = Client().get(f"/p/{issued.token}/")
    assert response.status_code == 410
    page = response.content.decode()
    assert "This link cannot be used" in page
    for value in CASE_VALUES:
        assert value not in page


def test_staff_can_revoke_a_link_and_it_is_logged(today):
    from confide.privacy.models import AccessEvent

    issued = case_with_link(today=today)
    supervisor = StaffMemberFactory.create(role=Role.SUPERVISOR)
    assert revoke_links(case=issued.case, by=supervisor) == 1
    assert Client().get(f"/p/{issued.token}/").status_code == 410
    assert AccessEvent.objects.filter(
        actor_reference=supervisor.reference, purpose="revoked self-service links"
    ).exists()


def test_a_contact_verifies_and_checks_in_with_symptoms_which_escalates_to_a_clinician(today):
    issued = case_with_link(today=today)
    client = Client()
    verify(
        client,
        issued.token,
        date_of_birth=CASE_DOB,
        person_id=issued.case.person_id,
    )
    client.post(
        "/self-service/contacts/add/",
        {
            "given_name": "Wilhelmina",
            "family_name": "Ostrowska",
            "email": "wilhelmina@example.net",
            "phone": "07700 900789",
            **date_parts("last_contact", today - timedelta(days=1)),
            "proximity": "household",
        },
    )
    client.post("/self-service/submit/")
    exposure = Exposure.objects.get(case=issued.case)
    # A contact named by a case has no date of birth on record: the code is the proof.
    notification = latest(TemplateKind.CONTACT_NOTIFICATION)
    assert notification.person_id == exposure.contact_id
    token = token_in(message_body(notification))
    contact_client = Client()
    verify(contact_client, token, date_of_birth=date(1970, 1, 1), person_id=exposure.contact_id)
    page = contact_client.get("/your-isolation/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Ask for support" in text
    for value in CASE_VALUES:
        assert value not in text
    response = contact_client.post(
        "/your-isolation/",
        {"outcome": "symptoms", **date_parts("symptom_onset", today)},
    )
    assert response.status_code == 302
    assert WorkItem.objects.filter(
        exposure=exposure, kind=WorkKind.CONTACT_SYMPTOMS, state=WorkState.WAITING
    ).exists()
    assert (
        "You have told us how you are today"
        in contact_client.get("/your-isolation/").content.decode()
    )


def test_a_contact_cannot_open_the_cases_form_and_a_case_cannot_open_a_contact_page(today):
    issued = case_with_link(today=today)
    client = Client()
    verify(
        client,
        issued.token,
        date_of_birth=CASE_DOB,
        person_id=issued.case.person_id,
    )
    assert "Open the link" in client.get("/your-isolation/").content.decode()


def test_the_language_switch_remembers_welsh_in_a_cookie(today):
    issued = case_with_link(today=today)
    client = Client()
    response = client.get(f"/language/cy/?next=/p/{issued.token}/")
    assert response.status_code == 302
    assert response["Location"] == f"/p/{issued.token}/"
    page = client.get(f"/p/{issued.token}/").content.decode()
    assert 'lang="cy"' in page
    assert "Cadarnhewch mai chi sydd yno" in page
    assert client.get("/language/cy/?next=https://evil.example/")["Location"] == "/"


def test_drafts_and_codes_of_finished_links_are_purged_and_old_links_deleted(today):
    from confide.public.answers import CaseAnswers, save_answers
    from confide.public.models import VerificationCode
    from confide.public.periodic import purge_finished_self_service

    issued = case_with_link(today=today)
    link = SelfServiceLink.objects.get(case=issued.case)
    save_answers(link=link, answers=CaseAnswers(symptoms="no"))
    Client().post(f"/p/{issued.token}/", date_parts("date_of_birth", CASE_DOB))
    assert purge_finished_self_service() == 0
    assert CaseDraft.objects.exists()
    assert VerificationCode.objects.exists()
    after_expiry = link.expires_at + timedelta(minutes=1)
    assert purge_finished_self_service(now=after_expiry) == 0
    assert not CaseDraft.objects.exists()
    assert not VerificationCode.objects.exists()
    assert purge_finished_self_service(now=after_expiry + timedelta(days=7)) == 1
    assert not SelfServiceLink.objects.exists()
