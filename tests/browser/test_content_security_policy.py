"""Every page works under Confide's Content-Security-Policy: the browser reports no violation
(a refused script, style or image) on public pages, staff pages or the API's documentation."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from confide.staff.models import Course, Role
from confide.staff.services import record_training
from confide.staff.tests.factories import StaffMemberFactory

from .conftest import BrowserLog, SignInAs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any page script, in every document: the browser's own violation reports.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""

PUBLIC_PAGES = ["/", "/sign-in/", "/statistics/", "/no-such-page/", "/api/docs"]
STAFF_PAGES = ["/work/", "/account/security/", "/supervise/matches/", "/supervise/imports/"]


def _violations_on(page: Page, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    found: list[str] = page.evaluate("window.__cspViolations")
    return found


def _csp_console_errors(log: BrowserLog) -> list[str]:
    return [e for e in log.console_errors if "Content Security Policy" in e]


def test_public_pages_cause_no_policy_violation(
    live_server: LiveServer, page: Page, browser_log: BrowserLog
) -> None:
    page.add_init_script(RECORD_VIOLATIONS)
    found = {url: _violations_on(page, live_server.url + url) for url in PUBLIC_PAGES}

    assert {url: v for url, v in found.items() if v} == {}
    assert _csp_console_errors(browser_log) == []


def test_staff_pages_cause_no_policy_violation(
    live_server: LiveServer, page: Page, browser_log: BrowserLog, sign_in_as: SignInAs,
    settings: Any,
) -> None:  # fmt: skip
    member = StaffMemberFactory.create(role=Role.SUPERVISOR)
    record_training(
        staff_member=member, course=Course.DATA_PROTECTION,
        completed_on=member.date_joined.date(), recorded_by=None,
    )  # fmt: skip
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in_as(page, member)
    found = {url: _violations_on(page, live_server.url + url) for url in STAFF_PAGES}

    assert {url: v for url, v in found.items() if v} == {}
    assert _csp_console_errors(browser_log) == []


def test_an_inline_script_would_be_reported(live_server: LiveServer, page: Page) -> None:
    """Guards the check itself: a violation is seen when there is one."""
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(live_server.url + "/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = 1'; document.body.append(s); }"
    )
    page.wait_for_timeout(200)

    assert page.evaluate("window.__ran") is None
    assert any("script-src" in v for v in page.evaluate("window.__cspViolations"))
