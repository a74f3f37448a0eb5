"""Passkeys in Chromium with its virtual authenticator (DevTools' WebAuthn domain): a member
signed in with two factors adds a passkey, signs out, and signs in with password + passkey;
a passkey whose sign count went backwards (a cloned authenticator) is refused; the pages pass
axe-core's WCAG 2.2 AA rules, and without JavaScript the code path is all there is."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from confide.staff.models import Passkey, Role, StaffMember
from confide.staff.services import create_staff_member
from confide.staff.tests.factories import confirmed_totp_device, record_in_date_training

from .conftest import BrowserLog, SignInAs

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fast_passwords"),
]

Check = Callable[[Page], Any]
PASSWORD = "a long and memorable passphrase"
EMAIL = "wilhelmina.passkey@confide.example.org"


@pytest.fixture
def member() -> StaffMember:
    member = create_staff_member(
        display_name="Wilhelmina Ashdown", email=EMAIL, role=Role.CALL_HANDLER, password=PASSWORD
    )
    record_in_date_training(member)
    confirmed_totp_device(member)
    return member


@pytest.fixture
def authenticator(page: Page) -> Iterator[Page]:
    """The page, with a platform authenticator (like Touch ID) attached to its browser."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    yield page
    cdp.detach()


def add_passkey(page: Page, live_server: LiveServer, name: str) -> None:
    page.goto(f"{live_server.url}/account/security/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your sign-in security")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("Name this passkey (optional)").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Passkey added")


def sign_in_with_password(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")


def test_a_member_adds_a_passkey_and_signs_in_with_it_instead_of_a_code(
    live_server: LiveServer,
    authenticator: Page,
    sign_in_as: SignInAs,
    browser_log: BrowserLog,
    member: StaffMember,
) -> None:
    page = sign_in_as(authenticator, member)
    add_passkey(page, live_server, "Work laptop")
    passkey = Passkey.objects.get(user=member)
    assert passkey.name == "Work laptop"
    assert passkey.transports == ["internal"]
    expect(page.locator("main")).to_contain_text("Work laptop")

    page.get_by_role("button", name="Sign out").click()
    sign_in_with_password(page, live_server)
    page.get_by_role("button", name="Use a passkey").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your work")
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None
    assert passkey.sign_count > 0
    assert browser_log.console_errors == []
    assert browser_log.failed_requests == []


def test_a_passkey_whose_sign_count_went_backwards_is_refused(
    live_server: LiveServer, authenticator: Page, sign_in_as: SignInAs, member: StaffMember
) -> None:
    page = sign_in_as(authenticator, member)
    add_passkey(page, live_server, "Phone")
    page.get_by_role("button", name="Sign out").click()
    # As if another copy of this authenticator had already been used many times.
    Passkey.objects.filter(user=member).update(sign_count=1_000_000)

    sign_in_with_password(page, live_server)
    page.get_by_role("button", name="Use a passkey").click()

    expect(page.locator(".govuk-error-summary")).to_contain_text("Your passkey was not accepted")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")
    page.goto(f"{live_server.url}/work/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")


def test_without_javascript_the_security_code_is_the_way_in(
    live_server: LiveServer, page_without_javascript: Page, member: StaffMember
) -> None:
    Passkey.objects.create(
        user=member, name="Laptop", credential_id="AAAA", public_key=b"\x00", sign_count=0
    )
    page = page_without_javascript

    sign_in_with_password(page, live_server)

    expect(page.get_by_role("button", name="Use a passkey")).to_be_hidden()
    expect(page.get_by_label("Security code")).to_be_visible()


def test_security_page_is_accessible(
    live_server: LiveServer,
    authenticator: Page,
    sign_in_as: SignInAs,
    axe_check: Check,
    member: StaffMember,
) -> None:
    page = sign_in_as(authenticator, member)
    add_passkey(page, live_server, "Work laptop")

    axe_check(page)


def test_security_code_page_offering_a_passkey_is_accessible(
    live_server: LiveServer,
    authenticator: Page,
    sign_in_as: SignInAs,
    axe_check: Check,
    member: StaffMember,
) -> None:
    page = sign_in_as(authenticator, member)
    add_passkey(page, live_server, "Work laptop")
    page.get_by_role("button", name="Sign out").click()

    sign_in_with_password(page, live_server)
    expect(page.get_by_role("button", name="Use a passkey")).to_be_visible()

    axe_check(page)
