"""Isolation support in a real browser: a verified contact applies with a PDF, a local
authority support officer approves it and records the payment; axe-core on every page, in
English and in Welsh."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from confide.public.access import VISITOR_SESSION_KEY
from confide.staff.models import Role
from confide.support.models import ApplicationState, SupportApplication, SupportPayment
from confide.support.tests.factories import (
    SMALL_PDF,
    contact_visitor,
    isolating_contact,
    make_member,
)
from confide.tracing.models import Exposure
from tests.browser.conftest import AxeViolation, BrowserLog, SignInAs

pytestmark = pytest.mark.django_db(transaction=True)


def _as_verified_contact(page: Page, live_server: Any, exposure: Exposure) -> None:
    """The session the public pages leave after a contact verified through their link."""
    store = import_module(django_settings.SESSION_ENGINE).SessionStore()
    store[VISITOR_SESSION_KEY] = {**asdict(contact_visitor(exposure)), "seen": time.time()}
    store.create()
    page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": store.session_key or "",
                "url": live_server.url,
            }
        ]
    )


def apply_for_support(
    page: Page, live_server: Any, check: Callable[[Page], Any], text: dict[str, str]
) -> None:
    """Through every page of the application, checking each with axe (errors included)."""
    page.goto(f"{live_server.url}/support/")
    check(page)
    page.get_by_role("button", name=text["start"]).click()
    check(page)
    page.get_by_role("button", name=text["continue"]).click()  # nothing chosen: an error
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    check(page)
    page.get_by_label(text["employed"], exact=True).check()
    page.get_by_role("button", name=text["continue"]).click()
    check(page)
    page.get_by_label(text["cannot_work_from_home"]).check()
    page.get_by_role("button", name=text["continue"]).click()
    check(page)
    page.get_by_label(text["universal_credit"]).check()
    page.get_by_role("button", name=text["continue"]).click()
    check(page)
    page.get_by_label(text["account_name"]).fill("Alex Example")
    page.get_by_label(text["sort_code"]).fill("12")
    page.get_by_label(text["account_number"]).fill("00733445")
    page.get_by_role("button", name=text["continue"]).click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    check(page)
    page.get_by_label(text["sort_code"]).fill("30-94-30")
    page.get_by_role("button", name=text["continue"]).click()
    check(page)
    page.get_by_label(text["upload"]).set_input_files(
        {"name": "payslip.pdf", "mimeType": "application/pdf", "buffer": SMALL_PDF}
    )
    page.get_by_role("button", name=text["upload_button"]).click()
    check(page)
    page.get_by_role("button", name=text["continue"]).click()
    expect(page.get_by_text("****3445")).to_be_visible()
    check(page)
    page.get_by_role("button", name=text["send"]).click()
    expect(page.locator(".govuk-panel--confirmation")).to_be_visible()
    check(page)
    page.goto(f"{live_server.url}/support/help/")
    check(page)


ENGLISH = {
    "start": "Start now",
    "continue": "Continue",
    "employed": "Employed",
    "cannot_work_from_home": "No, I cannot work from home",
    "universal_credit": "Universal Credit",
    "account_name": "Name on the account",
    "sort_code": "Sort code",
    "account_number": "Account number",
    "upload": "Upload a file",
    "upload_button": "Upload file",
    "send": "Accept and send",
}
WELSH = {
    "start": "Dechrau nawr",
    "continue": "Parhau",
    "employed": "Cyflogedig",
    "cannot_work_from_home": "Na, ni allaf weithio gartref",
    "universal_credit": "Credyd Cynhwysol",
    "account_name": "Enw ar y cyfrif",
    "sort_code": "Cod didoli",
    "account_number": "Rhif cyfrif",
    "upload": "Dewis ffeil i’w huwchlwytho",
    "upload_button": "Uwchlwytho ffeil",
    "send": "Derbyn ac anfon",
}


def approve_and_record_payment(
    another_page: Page,
    live_server: Any,
    axe_check: Callable[[Page], list[AxeViolation]],
    sign_in_as: SignInAs,
    application: SupportApplication,
) -> None:
    """A local authority support officer approves the application and records the payment."""
    officer = make_member(Role.SUPPORT_OFFICER)
    staff = sign_in_as(another_page, officer)
    staff.goto(f"{live_server.url}/local-support/applications/")
    axe_check(staff)
    staff.get_by_role("link", name=application.short_reference).click()
    expect(staff.get_by_text("****3445")).to_be_visible()
    axe_check(staff)
    staff.get_by_role("button", name="Reveal bank details").click()
    expect(staff.get_by_text("00733445")).to_be_visible()
    axe_check(staff)
    staff.get_by_label("Approve").check()
    staff.get_by_role("button", name="Save decision").click()
    expect(staff.get_by_role("heading", name="Record the payment")).to_be_visible()
    axe_check(staff)
    today = timezone.localdate()
    staff.get_by_label("Day").fill(str(today.day))
    staff.get_by_label("Month").fill(str(today.month))
    staff.get_by_label("Year").fill(str(today.year))
    staff.get_by_label("Payment reference").fill("LA-2020-0001")
    staff.get_by_role("button", name="Record payment").click()
    expect(staff.get_by_text(f"Payment recorded for {application.short_reference}")).to_be_visible()
    axe_check(staff)


def test_a_contact_applies_and_an_officer_approves_and_records_payment(
    live_server: Any,
    page: Page,
    another_page: Page,
    axe_check: Callable[[Page], list[AxeViolation]],
    sign_in_as: SignInAs,
    browser_log: BrowserLog,
    fast_passwords: None,
) -> None:
    exposure = isolating_contact()
    page.goto(f"{live_server.url}/support/")  # not verified: asked to open their link
    expect(page.get_by_role("heading", name="Open the link in your message")).to_be_visible()
    axe_check(page)
    _as_verified_contact(page, live_server, exposure)
    apply_for_support(page, live_server, axe_check, ENGLISH)
    application = SupportApplication.objects.get()
    assert application.state == ApplicationState.SUBMITTED

    approve_and_record_payment(another_page, live_server, axe_check, sign_in_as, application)

    payment = SupportPayment.objects.get()
    assert (payment.amount_pence, payment.payment_reference) == (50000, "LA-2020-0001")
    assert browser_log.console_errors == []
    assert browser_log.failed_requests == []


def test_the_application_in_welsh_has_no_accessibility_violations(
    live_server: Any,
    page: Page,
    axe_check: Callable[[Page], list[AxeViolation]],
) -> None:
    exposure = isolating_contact()
    page.context.add_cookies(
        [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": "cy", "url": live_server.url}]
    )
    _as_verified_contact(page, live_server, exposure)
    apply_for_support(page, live_server, axe_check, WELSH)
    assert page.locator("html").get_attribute("lang") == "cy"
    assert SupportApplication.objects.get().state == ApplicationState.SUBMITTED
