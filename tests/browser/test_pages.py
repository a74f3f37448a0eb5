"""The web front end in a real browser: GOV.UK Frontend loads, pages are accessible (WCAG 2.2
AA by axe-core), and they work with JavaScript turned off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from .conftest import BrowserLog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Check = Callable[[Page], Any]


def test_home_page_loads_with_the_gov_uk_stylesheet(
    live_server: LiveServer, page: Page, browser_log: BrowserLog
) -> None:
    with page.expect_response("**/static/govuk/govuk-frontend.min.css") as stylesheet:
        response = page.goto(live_server.url + "/")

    assert response is not None
    assert response.status == 200
    assert "Confide" in page.title()
    assert stylesheet.value.status == 200
    # Only GOV.UK Frontend's layout gives the page container this width; the browser default
    # would be "none".
    container_width = page.locator(".govuk-width-container").first.evaluate(
        "element => getComputedStyle(element).maxWidth"
    )
    assert container_width == "960px"
    body_font = page.locator("body").evaluate("element => getComputedStyle(element).fontFamily")
    assert body_font.startswith("arial"), "not on GOV.UK, so Arial rather than GDS Transport"
    assert browser_log.failed_requests == []


def test_home_page_runs_gov_uk_frontend_javascript_without_errors(
    live_server: LiveServer, page: Page, browser_log: BrowserLog
) -> None:
    page.goto(live_server.url + "/")

    expect(page.locator("body")).to_have_class(
        "govuk-template__body js-enabled govuk-frontend-supported"
    )
    # initAll() marks each component it has set up.
    expect(page.locator(".govuk-skip-link")).to_have_attribute("data-govuk-skip-link-init", "")
    assert browser_log.console_errors == []
    assert browser_log.failed_requests == []


def test_home_page_has_no_accessibility_violations(
    live_server: LiveServer,
    page: Page,
    axe_check: Check,
    screenshot: Callable[[Page, str], None],
) -> None:
    page.goto(live_server.url + "/")
    screenshot(page, "home")

    axe_check(page)


def test_home_page_works_without_javascript(
    live_server: LiveServer, page_without_javascript: Page, browser_log: BrowserLog
) -> None:
    page = page_without_javascript
    page.goto(live_server.url + "/")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Confide")
    sign_in = page.get_by_role("button", name="Sign in")
    expect(sign_in).to_be_visible()
    expect(sign_in).to_have_attribute("href", "/sign-in/")
    expect(page.locator("body")).not_to_have_class("js-enabled")
    assert browser_log.failed_requests == []


def test_skip_link_takes_keyboard_users_to_the_main_content(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(live_server.url + "/")

    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("#main-content")).to_be_focused()


def test_page_not_found_is_readable_and_accessible(
    live_server: LiveServer,
    page: Page,
    browser_log: BrowserLog,
    axe_check: Check,
    screenshot: Callable[[Page, str], None],
) -> None:
    response = page.goto(live_server.url + "/no-such-page/")

    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    assert "Page not found" in page.title()
    screenshot(page, "not-found")
    axe_check(page)
    assert browser_log.failed_requests == []
