"""The public self-service pages in headless Chromium: a case gives three contacts online, one
contact checks in with symptoms; and every public page passes axe-core in English and Welsh."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from confide.messaging.models import Message
from confide.messaging.template_types import TemplateKind
from confide.public import verification
from confide.public.tests.journey import (
    CASE_DETAILS,
    CASE_DOB,
    case_with_link,
    code_in,
    latest,
    message_body,
    token_in,
)
from confide.support.models import SupportApplication, SupportPayment
from confide.tracing.models import Exposure
from confide.workqueue.models import WorkItem, WorkKind

from .conftest import BrowserLog, SignInAs
from .test_support_journey import ENGLISH, apply_for_support, approve_and_record_payment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Check = Callable[[Page], Any]
CASE_VALUES = [
    CASE_DETAILS.given_name,
    CASE_DETAILS.family_name,
    CASE_DETAILS.nhs_number,
    CASE_DETAILS.email,
    CASE_DETAILS.address,
    CASE_DETAILS.postcode,
    "900456",
]


def fill_date(page: Page, legend: str, value: date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(value.day))
    group.get_by_label("Month").fill(str(value.month))
    group.get_by_label("Year").fill(str(value.year))


def verify(page: Page, url: str, *, date_of_birth: date, person_id: int) -> None:
    page.goto(url)
    fill_date(page, "What is your date of birth?", date_of_birth)
    page.get_by_role("button", name="Send me a security code").click()
    expect(page.get_by_role("heading", name="Enter your security code")).to_be_visible()
    code = code_in(message_body(latest(TemplateKind.VERIFICATION_CODE, person_id=person_id)))
    page.get_by_label("Security code").fill(code)
    page.get_by_role("button", name="Continue").click()


def add_person(page: Page, n: int, last_together: date) -> None:
    page.get_by_role("link", name="Add a person").click()
    page.get_by_label("First name").fill(f"Contactname{n}")
    page.get_by_label("Last name").fill("Tillinghast")
    page.get_by_label("Email address").fill(f"contact{n}@example.net")
    fill_date(page, "When were you last together?", last_together)
    page.get_by_label(
        "They live with me" if n == 0 else "Face to face, closer than 1 metre"
    ).check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_text(f"Contactname{n} Tillinghast")).to_be_visible()


def test_a_case_gives_three_contacts_and_a_contact_checks_in_and_is_paid_support(
    live_server: LiveServer,
    page: Page,
    another_page: Page,
    browser_log: BrowserLog,
    axe_check: Check,
    sign_in_as: SignInAs,
    fast_passwords: None,
) -> None:
    """Issue 6's journey end to end: the case's link, three contacts, one contact's page and
    symptom check-in, their support application, and a local authority officer's approval."""
    today = timezone.localdate()
    issued = case_with_link(today=today)
    verify(
        page,
        f"{live_server.url}/p/{issued.token}/",
        date_of_birth=CASE_DOB,
        person_id=issued.case.person_id,
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Tell us who you have been in contact with"
    )
    axe_check(page)

    page.get_by_role("link", name="Change symptoms").click()
    page.get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_text("No symptoms", exact=True)).to_be_visible()

    page.get_by_role("link", name="Add a person").click()
    page.get_by_role("button", name="Save and continue").click()  # nothing typed
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    axe_check(page)
    page.get_by_role("link", name="Back to your answers").click()

    for n in range(3):
        add_person(page, n, today - timedelta(days=1))
    page.get_by_role("button", name="Send answers").click()
    expect(page.get_by_role("heading", name="Your answers have been sent")).to_be_visible()

    exposures = list(Exposure.objects.filter(case=issued.case))
    assert len(exposures) == 3
    notifications = list(
        Message.objects.filter(template__kind=TemplateKind.CONTACT_NOTIFICATION)
        .select_related("template", "data_key")
        .order_by("pk")
    )
    assert len(notifications) == 3
    assert {m.person_id for m in notifications} == {e.contact_id for e in exposures}
    bodies = [message_body(m) for m in notifications]
    for body in bodies:
        for value in CASE_VALUES:
            assert value not in body

    # The first contact opens their own page from their message.
    first = notifications[0]
    exposure = next(e for e in exposures if e.contact_id == first.person_id)
    verify(
        page,
        f"{live_server.url}/p/{token_in(bodies[0])}/",
        date_of_birth=date(1990, 5, 17),  # not on record for a named contact: the code proves it
        person_id=first.person_id or 0,
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Your self-isolation")
    expect(page.get_by_text("Ask for support").first).to_be_visible()
    text = page.content()
    for value in CASE_VALUES:
        assert value not in text
    page.get_by_label("I have symptoms of coronavirus").check()
    fill_date(page, "When did your symptoms start?", today)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Thank you for telling us how you are today.")).to_be_visible()
    assert WorkItem.objects.filter(exposure=exposure, kind=WorkKind.CONTACT_SYMPTOMS).exists()

    # From their page, the contact asks for support, and a reviewer approves it.
    page.get_by_text("Ask for support").first.click()
    apply_for_support(page, live_server, axe_check, ENGLISH)
    application = SupportApplication.objects.get()
    assert application.person_id == first.person_id
    approve_and_record_payment(another_page, live_server, axe_check, sign_in_as, application)
    assert SupportPayment.objects.get().application_id == application.pk
    assert not browser_log.console_errors, browser_log.console_errors


WELSH_HEADINGS = {
    "start": "Cadarnhewch mai chi sydd yno",
    "contact": "Eich hunanynysu",
}


@pytest.mark.parametrize("language", ["en", "cy"])
def test_every_public_page_passes_axe(
    live_server: LiveServer,
    page: Page,
    axe_check: Check,
    language: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    today = timezone.localdate()
    issued = case_with_link(today=today)
    base = live_server.url
    page.goto(f"{base}/p/{issued.token}/")
    if language == "cy":
        page.get_by_role("link", name="Cymraeg").click()
        expect(page.locator("html")).to_have_attribute("lang", "cy")
        expect(page.get_by_role("heading", level=1)).to_have_text(WELSH_HEADINGS["start"])

    def visit(path: str) -> None:
        page.goto(base + path)
        axe_check(page)

    visit(f"/p/{issued.token}/")
    visit("/self-service/")  # not verified yet: "open the link again"
    visit(f"/p/{issued.token}/code/")
    page.goto(f"{base}/p/{issued.token}/")
    page.locator("#id_date_of_birth").fill(str(CASE_DOB.day))
    page.locator("#id_date_of_birth-month").fill(str(CASE_DOB.month))
    page.locator("#id_date_of_birth-year").fill(str(CASE_DOB.year))
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"**/p/{issued.token}/code/")
    code = code_in(message_body(latest(TemplateKind.VERIFICATION_CODE)))
    page.locator("#id_code").fill(code)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/self-service/")
    for path in (
        "/self-service/",
        "/self-service/symptoms/",
        "/self-service/places/add/",
        "/self-service/contacts/add/",
    ):
        visit(path)
    page.locator("form button[type=submit]").first.click()  # the contact form, empty: errors
    axe_check(page)
    visit("/self-service/sent/")
    visit("/signed-out/")
    visit("/p/never-issued/")  # the clear "cannot be used" page
    # The contact's page (a contact of another case, verified through their own link).
    from confide.people.details import PersonDetails
    from confide.tracing.services import record_named_contact

    named = record_named_contact(
        case=issued.case,
        details=PersonDetails(given_name="Wilhelmina", email="wilhelmina@example.net"),
        last_contact=today - timedelta(days=1),
        proximity="household",
        by=None,
    )
    token = token_in(message_body(latest(TemplateKind.CONTACT_NOTIFICATION)))
    page.goto(f"{base}/p/{token}/")
    page.locator("#id_date_of_birth").fill("1")
    page.locator("#id_date_of_birth-month").fill("1")
    page.locator("#id_date_of_birth-year").fill("1990")
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"**/p/{token}/code/")
    contact_id = named.exposure.contact_id
    code = code_in(message_body(latest(TemplateKind.VERIFICATION_CODE, person_id=contact_id)))
    page.locator("#id_code").fill(code)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/your-isolation/")
    if language == "cy":
        expect(page.get_by_role("heading", level=1)).to_have_text(WELSH_HEADINGS["contact"])
    axe_check(page)
    # The "too many attempts" page.
    monkeypatch.setattr(verification, "REQUESTS_PER_ADDRESS_PER_MINUTE", 0)
    response = page.goto(f"{base}/p/{token}/")
    assert response is not None
    assert response.status == 429
    axe_check(page)
