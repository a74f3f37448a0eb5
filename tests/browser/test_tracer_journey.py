"""A tracer's day in a real browser: sign in with two factors (by keyboard), take the next case,
record three contacts — one we already hold — and see each one's notification queued; a second
tracer, signing in at the same time, is never given the same case."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from confide.cases.models import Case
from confide.cases.tests.factories import CaseFactory
from confide.messaging.dispatch import envelope_for
from confide.messaging.models import Channel, Message
from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.selectors import person_details
from confide.people.services import create_person
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.staff.models import AuthenticatorApp, Role, StaffMember
from confide.staff.services import create_staff_member
from confide.staff.tests.factories import confirmed_totp_device, record_in_date_training, totp_code
from confide.tracing.models import Exposure, NotificationState
from confide.workqueue.models import WorkItem, WorkState
from confide.workqueue.services import enqueue_case_interview

from .conftest import BrowserLog

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fast_passwords"),
]

PASSWORD = "a long and memorable passphrase"
FIRST_TRACER = "ada.okonjo@confide.example.org"
SECOND_TRACER = "ben.marsh@confide.example.org"
KNOWN_PHONE = "07700 900123"


def trained_clinician(email: str, display_name: str) -> tuple[StaffMember, AuthenticatorApp]:
    member = create_staff_member(
        display_name=display_name, email=email, role=Role.CLINICIAN, password=PASSWORD
    )
    record_in_date_training(member)
    return member, confirmed_totp_device(member)


def new_case(given_name: str, family_name: str, today: date) -> Case:
    # Names no page text or Faker staff name can contain, so "not in a message" means it.
    case = CaseFactory.create(
        person=PersonFactory.create(
            details=PersonDetailsFactory.build(given_name=given_name, family_name=family_name)
        ),
        specimen_date=today - timedelta(days=2),
        today=today,
    )
    enqueue_case_interview(case=case)
    return case


def tab_to(page: Page, target: Locator, *, at_most: int = 12) -> None:
    """Press Tab until `target` has the focus, as a keyboard user would."""
    for _ in range(at_most):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    pytest.fail(f"{at_most} presses of Tab never reached {target}", pytrace=False)


def sign_in_by_keyboard(page: Page, url: str, *, email: str, device: AuthenticatorApp) -> None:
    """Both factors without the mouse: Tab to each field, type, Enter to submit."""
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Confide")
    tab_to(page, page.get_by_label("Email address"))
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")
    tab_to(page, page.get_by_label("Security code"))
    page.keyboard.type(totp_code(device))
    page.keyboard.press("Enter")


def add_contact(
    page: Page,
    *,
    given_name: str,
    last_contact: date,
    proximity: str,
    family_name: str = "",
    phone: str = "",
    email: str = "",
) -> None:
    page.get_by_role("button", name="Add a contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a contact")
    page.get_by_label("First name").fill(given_name)
    page.get_by_label("Last name").fill(family_name)
    page.get_by_label("Phone number (optional)").fill(phone)
    page.get_by_label("Email address (optional)").fill(email)
    page.get_by_label("Day").fill(str(last_contact.day))
    page.get_by_label("Month").fill(str(last_contact.month))
    page.get_by_label("Year").fill(str(last_contact.year))
    page.get_by_label(proximity).check()
    page.get_by_role("button", name="Add contact").click()


def case_reference_on(page: Page) -> str:
    row = page.locator(".govuk-summary-list__row", has_text="Case reference")
    return row.locator(".govuk-summary-list__value").inner_text().strip()


def test_a_tracer_claims_a_case_records_three_contacts_and_a_second_tracer_gets_another_case(
    live_server: LiveServer, page: Page, another_page: Page, browser_log: BrowserLog
) -> None:
    today = timezone.localdate()
    first, first_device = trained_clinician(FIRST_TRACER, "Ada Okonjo")
    second, second_device = trained_clinician(SECOND_TRACER, "Ben Marsh")
    first_case = new_case("Marguerite", "Quillfeather", today)
    second_case = new_case("Leopoldine", "Ashgrove", today)
    known = create_person(
        details=PersonDetails(given_name="Priya", family_name="Vantongeren", phone=KNOWN_PHONE)
    )
    people_before = Person.objects.count()

    # The first tracer signs in — by keyboard — and lands on their work.
    sign_in_by_keyboard(page, live_server.url + "/work/", email=FIRST_TRACER, device=first_device)
    expect(page).to_have_url(live_server.url + "/work/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your work")

    page.get_by_role("button", name="Get the next case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Marguerite Quillfeather")
    assert case_reference_on(page) == str(first_case.reference)
    first_item_url = page.url

    yesterday = today - timedelta(days=1)
    add_contact(
        page,
        given_name="Olu",
        family_name="Adebayo",
        email="olu.adebayo@example.org",
        last_contact=yesterday,
        proximity="Close contact (face to face, under 1 metre)",
    )
    expect(page.get_by_role("alert")).to_contain_text(
        "Contact added. We will tell them to self-isolate."
    )
    add_contact(
        page,
        given_name="Priya",
        phone=KNOWN_PHONE,
        last_contact=yesterday,
        proximity="Proximity (within 2 metres for 15 minutes)",
    )
    expect(page.get_by_role("alert")).to_contain_text(
        "This person is already known to us; we linked them."
    )
    add_contact(
        page,
        given_name="Sam",
        family_name="Okoro",
        phone="07700 900456",
        last_contact=today - timedelta(days=2),
        proximity="Household",
    )
    expect(page.get_by_role("alert")).to_contain_text("Contact added.")

    # Back on the case: three contacts by first name, each with its notification queued.
    expect(page).to_have_url(first_item_url)
    rows = page.get_by_role("table", name="Contacts the case has named").locator("tbody tr")
    expect(rows).to_have_count(3)
    for index, given_name in enumerate(("Olu", "Priya", "Sam")):
        expect(rows.nth(index).locator("td").first).to_have_text(given_name)
        expect(rows.nth(index)).to_contain_text("Notification queued")
    expect(page.locator("main")).not_to_contain_text("Vantongeren")  # stored details not shown

    # In the database: three exposures, the known person linked (not duplicated), and one
    # message per contact, each to that contact alone and never naming the case.
    exposures = list(
        Exposure.objects.filter(case=first_case).select_related(
            "contact__data_key", "notification_message__data_key", "notification_message__template"
        )
    )
    assert len(exposures) == 3
    assert Person.objects.count() == people_before + 2
    assert known.pk in {exposure.contact_id for exposure in exposures}
    assert Message.objects.count() == 3
    assert not Message.objects.filter(person=first_case.person).exists()
    case_details = person_details(first_case.person)
    for exposure in exposures:
        assert exposure.notification_state == NotificationState.QUEUED
        message = exposure.notification_message
        assert message is not None
        assert message.person_id == exposure.contact_id
        contact = person_details(exposure.contact)
        envelope = envelope_for(message)
        expected_recipient = contact.email if message.channel == Channel.EMAIL else contact.phone
        assert envelope.recipient == expected_recipient
        text = f"{envelope.subject}\n{envelope.body}"
        assert contact.given_name in text
        for secret in (case_details.given_name, case_details.family_name):
            assert secret not in text, f"the message to a contact names the case ({secret})"

    # A second tracer, in another browser, asks for the next case: the other one.
    sign_in_by_keyboard(
        another_page, live_server.url + "/work/", email=SECOND_TRACER, device=second_device
    )
    another_page.get_by_role("button", name="Get the next case").click()
    expect(another_page.get_by_role("heading", level=1)).to_have_text("Leopoldine Ashgrove")
    assert case_reference_on(another_page) == str(second_case.reference)
    assert case_reference_on(another_page) != str(first_case.reference)
    assert browser_log.console_errors == []
    # ... and cannot open the first tracer's case by its address either.
    response = another_page.goto(first_item_url)
    assert response is not None
    assert response.status == 404
    expect(another_page.locator("main")).not_to_contain_text("Quillfeather")

    first_item = WorkItem.objects.get(case=first_case)
    second_item = WorkItem.objects.get(case=second_case)
    assert first_item.state == second_item.state == WorkState.CLAIMED
    assert first_item.claimed_by_id == first.pk
    assert second_item.claimed_by_id == second.pk
    assert browser_log.failed_requests == []
