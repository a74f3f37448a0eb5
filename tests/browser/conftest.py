"""Real-browser fixtures: Debian's headless Chromium driven by Playwright, and axe-core.

Playwright is only the driver here; it never downloads a browser (no `playwright install`).
Chromium comes from the system package (`apt-get install chromium`) or CONFIDE_CHROMIUM.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

from conftest import unavailable

# Playwright's sync API keeps an asyncio event loop on the test's thread, which makes Django
# refuse ORM calls from the test body ("You cannot call this from an async context").
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path(os.environ.get("CONFIDE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# WCAG 2.2 AA, the level public-sector services must meet.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

AxeViolation = dict[str, Any]


@dataclass
class BrowserLog:
    """What went wrong in the browser while a test ran, beyond what the page shows."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def record_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '?')})")

    def record_page_error(self, error: Exception) -> None:
        self.console_errors.append(f"uncaught: {error}")

    def record_response(self, response: Response) -> None:
        # The document's own status is each test's business (the 404 page is meant to 404).
        if response.status >= 400 and response.request.resource_type != "document":
            self.failed_requests.append(f"{response.status} {response.url}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        unavailable(
            f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium` "
            "or set CONFIDE_CHROMIUM to its path"
        )
    with sync_playwright() as playwright:
        # A fresh, throwaway profile each launch: no cookies or cache carried between runs.
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _new_page(browser: Browser, log: BrowserLog, *, javascript: bool) -> Iterator[Page]:
    context = browser.new_context(java_script_enabled=javascript, locale="en-GB")
    page = context.new_page()
    page.on("console", log.record_console)
    page.on("pageerror", log.record_page_error)
    page.on("response", log.record_response)
    yield page
    context.close()


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def page(browser: Browser, browser_log: BrowserLog) -> Iterator[Page]:
    yield from _new_page(browser, browser_log, javascript=True)


@pytest.fixture
def page_without_javascript(browser: Browser, browser_log: BrowserLog) -> Iterator[Page]:
    yield from _new_page(browser, browser_log, javascript=False)


@pytest.fixture
def axe_violations() -> Callable[[Page], list[AxeViolation]]:
    """Run axe-core's WCAG 2.2 AA rules on the page as it is now and return the violations."""
    if not AXE_SCRIPT.exists():
        unavailable(f"axe-core not found at {AXE_SCRIPT}: run `npm ci` in {REPO_ROOT}")

    def run(page: Page) -> list[AxeViolation]:
        # Evaluated through the DevTools protocol, which the pages' Content-Security-Policy
        # does not govern (an injected <script> tag would be refused, as it should be).
        page.evaluate(AXE_SCRIPT.read_text())
        violations: list[AxeViolation] = page.evaluate(
            """async (tags) => {
                const results = await axe.run(document, {
                    runOnly: {type: "tag", values: tags},
                    resultTypes: ["violations"],
                });
                return results.violations;
            }""",
            AXE_TAGS,
        )
        return violations

    return run


def describe_violations(url: str, violations: list[AxeViolation]) -> str:
    lines = [f"axe found {len(violations)} accessibility violation(s) on {url}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact') or 'no impact given'}): "
            f"{violation['help']}\n    {violation['helpUrl']}"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    at {target}")
            if node.get("failureSummary"):
                summary = node["failureSummary"].replace("\n", "\n       ")
                lines.append(f"       {summary}")
    return "\n".join(lines)


@pytest.fixture
def axe_check(
    axe_violations: Callable[[Page], list[AxeViolation]],
) -> Callable[[Page], list[AxeViolation]]:
    """Fail the test, listing each problem and where it is, if axe finds any WCAG violation."""

    def check(page: Page) -> list[AxeViolation]:
        violations = axe_violations(page)
        if violations:
            pytest.fail(describe_violations(page.url, violations), pytrace=False)
        return violations

    return check


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    """Save a full-page screenshot when CONFIDE_SCREENSHOT_DIR is set (for CI artefacts or a
    human look); otherwise do nothing."""
    directory = os.environ.get("CONFIDE_SCREENSHOT_DIR")

    def save(page: Page, name: str) -> None:
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=Path(directory) / f"{name}.png", full_page=True)

    return save


# --- signed-in staff ---------------------------------------------------------------------------

STAFF_BACKEND = "confide.staff.auth.EmailBlindIndexBackend"


@pytest.fixture
def fast_passwords(settings: Any) -> None:
    """MD5 instead of Argon2 for passwords set in a test (the live server shares settings)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def staff_session_cookie(member: Any) -> dict[str, str]:
    """The session cookie of `member` signed in with both factors, as the sign-in pages leave
    it — for pages that are not about signing in, so each test need not type a password and a
    code. The member's confirmed authenticator is used, or one is set up."""
    from django.conf import settings
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from confide.staff.models import AuthenticatorApp

    device = AuthenticatorApp.objects.filter(user=member, confirmed=True).first()
    if device is None:
        device = AuthenticatorApp.new_for(member, name="Authenticator app", confirmed=True)
    client = Client()
    client.force_login(member, backend=STAFF_BACKEND)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
    }


SignInAs = Callable[[Page, Any], Page]


@pytest.fixture
def sign_in_as(live_server: Any) -> SignInAs:
    """Put a staff member's two-factor session in the page's browser context; returns the page."""

    def sign_in(page: Page, member: Any) -> Page:
        cookie = staff_session_cookie(member)
        page.context.add_cookies(
            [{"name": cookie["name"], "value": cookie["value"], "url": live_server.url}]
        )
        return page

    return sign_in


@pytest.fixture
def another_page(browser: Browser, browser_log: BrowserLog) -> Iterator[Page]:
    """A page in a second browser context: its own cookies, as a second member of staff."""
    yield from _new_page(browser, browser_log, javascript=True)
