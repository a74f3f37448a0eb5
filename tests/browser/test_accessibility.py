"""Every staff page a tracer or supervisor works in passes axe-core's WCAG 2.2 AA rules in
Chromium: signing in, the queue, a case, contact entry (with and without errors), escalation,
a contact call, a setting review, the supervisor's dashboard and search, and the 403 and 404
pages. Each page is its own test, and a failure lists each rule broken and where."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from confide.cases.models import Case
from confide.cases.tests.factories import CaseFactory
from confide.people.details import PersonDetails
from confide.people.models import SafeguardingKind
from confide.people.services import create_person, set_safeguarding_flag
from confide.staff.models import AuthenticatorApp, Role, StaffMember, Team, Tier
from confide.staff.tests.factories import (
    StaffMemberFactory,
    confirmed_totp_device,
    record_in_date_training,
)
from confide.tracing.models import Proximity, SettingKind
from confide.tracing.services import record_exposure, record_setting_visit
from confide.workqueue.models import WorkItem, WorkKind
from confide.workqueue.services import claim_next, enqueue_case_interview

from .conftest import AxeViolation, SignInAs

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fast_passwords"),
]

Check = Callable[[Page], Any]
PASSWORD = "a long and memorable passphrase"
EMAIL = "robin.fairweather@confide.example.org"


def staff(role: str, *, trained: bool = True, **extra: Any) -> StaffMember:
    member = StaffMemberFactory.create(role=role, **extra)
    if trained:
        record_in_date_training(member)
    return member


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def case(today: date) -> Case:
    case = CaseFactory.create(specimen_date=today - timedelta(days=2), today=today)
    enqueue_case_interview(case=case)
    return case


@pytest.fixture
def clinician() -> StaffMember:
    return staff(Role.CLINICIAN)


@pytest.fixture
def interview(case: Case, clinician: StaffMember) -> WorkItem:
    """The case interview, held by the clinician."""
    item = claim_next(tracer=clinician)
    assert item is not None
    assert item.case_id == case.pk
    return item


def open_page(page: Page, url: str, *, status: int = 200, heading: str) -> None:
    response = page.goto(url)
    assert response is not None
    assert response.status == status, f"{url} answered {response.status}"
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def test_the_audit_finds_a_violation_when_there_is_one(
    live_server: LiveServer, page: Page, axe_violations: Callable[[Page], list[AxeViolation]]
) -> None:
    """Guards every test below: an axe that ran no rules would pass any page."""
    page.goto(live_server.url + "/sign-in/")
    page.evaluate("document.querySelector('label[for=id_username]').remove()")

    violations = axe_violations(page)

    assert "label" in {violation["id"] for violation in violations}


# --- signing in ----------------------------------------------------------------------------


def test_sign_in_page(live_server: LiveServer, page: Page, axe_check: Check) -> None:
    open_page(page, live_server.url + "/sign-in/", heading="Sign in to Confide")
    axe_check(page)


def test_public_statistics_page(
    live_server: LiveServer, page: Page, axe_check: Check, case: Case
) -> None:
    """Public, no sign-in: tables, the server-drawn chart and a suppressed [c] cell."""
    from confide.statistics.services import publish_due_weeks

    publish_due_weeks(now=timezone.now() + timedelta(days=14))  # the case's week, published
    open_page(page, live_server.url + "/statistics/", heading="Weekly contact tracing statistics")
    expect(page.locator("svg.app-chart")).to_be_visible()
    axe_check(page)


def sign_in_with_password(page: Page, url: str) -> None:
    page.goto(url + "/sign-in/")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()


def test_security_code_page(live_server: LiveServer, page: Page, axe_check: Check) -> None:
    member = staff(Role.CLINICIAN, email=EMAIL, password=PASSWORD)
    confirmed_totp_device(member)

    sign_in_with_password(page, live_server.url)

    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")
    axe_check(page)


def test_security_code_page_with_an_error(
    live_server: LiveServer, page: Page, axe_check: Check
) -> None:
    member = staff(Role.CLINICIAN, email=EMAIL, password=PASSWORD)
    confirmed_totp_device(member)
    sign_in_with_password(page, live_server.url)

    page.get_by_label("Security code").fill("12")
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the security code as 6")
    axe_check(page)


def test_set_up_two_factor_page(live_server: LiveServer, page: Page, axe_check: Check) -> None:
    member = staff(Role.CLINICIAN, email=EMAIL, password=PASSWORD)  # no authenticator yet

    sign_in_with_password(page, live_server.url)

    expect(page).to_have_url(live_server.url + "/sign-in/set-up-two-factor/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your authenticator app")
    assert AuthenticatorApp.objects.filter(user=member, confirmed=False).exists()
    axe_check(page)


# --- the tracer's queue and a case -----------------------------------------------------------


def test_your_work_with_nothing_held(
    live_server: LiveServer, page: Page, sign_in_as: SignInAs, axe_check: Check
) -> None:
    sign_in_as(page, staff(Role.CLINICIAN))

    open_page(page, live_server.url + "/work/", heading="Your work")

    expect(page.get_by_role("button", name="Get the next case")).to_be_visible()
    axe_check(page)


def test_your_work_with_a_held_item(
    live_server: LiveServer,
    page: Page,
    sign_in_as: SignInAs,
    axe_check: Check,
    interview: WorkItem,
    clinician: StaffMember,
) -> None:
    sign_in_as(page, clinician)

    open_page(page, live_server.url + "/work/", heading="Your work")

    expect(page.get_by_role("heading", level=2).first).to_contain_text("You are working on")
    axe_check(page)


def test_case_interview_page(
    live_server: LiveServer,
    page: Page,
    sign_in_as: SignInAs,
    axe_check: Check,
    interview: WorkItem,
    clinician: StaffMember,
    case: Case,
    today: date,
) -> None:
    # Something in every table and list the page can show.
    record_exposure(
        case=case,
        contact=create_person(details=PersonDetails(given_name="Olu", email="olu@example.org")),
        last_contact=today - timedelta(days=1),
        proximity=Proximity.CLOSE,
    )
    record_setting_visit(
        case=case,
        kind=SettingKind.WORKPLACE,
        name="Eastfield Printworks",
        postcode="M1 1AE",
        visited_on=today - timedelta(days=1),
    )
    set_safeguarding_flag(person=case.person, kind=SafeguardingKind.DO_NOT_DISCLOSE_ADDRESS)
    sign_in_as(page, clinician)

    page.goto(f"{live_server.url}/work/items/{interview.pk}/")

    expect(page.get_by_role("table", name="Contacts the case has named")).to_contain_text("Olu")
    page.get_by_text("Call script").click()  # open the details, so its text is checked too
    axe_check(page)


def test_add_contact_page(
    live_server: LiveServer,
    page: Page,
    sign_in_as: SignInAs,
    axe_check: Check,
    interview: WorkItem,
    clinician: StaffMember,
) -> None:
    sign_in_as(page, clinician)

    open_page(
        page, f"{live_server.url}/work/items/{interview.pk}/contacts/add/", heading="Add a contact"
    )

    axe_check(page)


def test_add_contact_page_with_errors(
    live_server: LiveServer,
    page: Page,
    sign_in_as: SignInAs,
    axe_check: Check,
    interview: WorkItem,
    clinician: StaffMember,
) -> None:
    sign_in_as(page, clinician)
    page.goto(f"{live_server.url}/work/items/{interview.pk}/contacts/add/")

    page.get_by_label("Phone number (optional)").fill("not a phone")
    page.get_by_label("Day").fill("31")
    page.get_by_label("Month").fill("2")
    page.get_by_role("button", name="Add contact").click()

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("Enter their first name")
    expect(summary).to_contain_text("Choose how they were in contact")
    assert page.title().startswith("Error: ")
    axe_check(page)


def test_escalate_page(
    live_server: LiveServer,
    page: Page,
    sign_in_as: SignInAs,
    axe_check: Check,
    interview: WorkItem,
    clinician: StaffMember,
) -> None:
    sign_in_as(page, clinician)

    open_page(
        page, f"{live_server.url}/work/items/{interview.pk}/escalate/", heading="Escalate this case"
    )

    axe_check(page)


def test_contact_call_page(
    live_server: LiveServer, page: Page, sign_in_as: SignInAs, axe_check: Check, case: Case
) -> None:
    contact = create_person(
        details=PersonDetails(given_name="Ifeoma", family_name="Okafor", phone="07700 900555")
    )
    set_safeguarding_flag(person=contact, kind=SafeguardingKind.PHONE_ONLY)
    record_exposure(
        case=case,
        contact=contact,
        last_contact=timezone.localdate() - timedelta(days=1),
        proximity=Proximity.HOUSEHOLD,
    )
    call_handler = staff(Role.CALL_HANDLER)
    item = claim_next(tracer=call_handler)
    assert item is not None
    assert item.kind == WorkKind.CONTACT_CALL
    sign_in_as(page, call_handler)

    open_page(page, f"{live_server.url}/work/items/{item.pk}/", heading="Ifeoma Okafor")

    axe_check(page)


def test_setting_review_page(
    live_server: LiveServer, page: Page, sign_in_as: SignInAs, axe_check: Check, case: Case
) -> None:
    record_setting_visit(
        case=case,
        kind=SettingKind.PRISON,
        name="HMP Eastfield",
        postcode="B33 8TH",
        visited_on=timezone.localdate() - timedelta(days=1),
    )
    officer = staff(Role.HEALTH_PROTECTION)
    item = claim_next(tracer=officer)
    assert item is not None
    assert item.kind == WorkKind.SETTING_REVIEW
    sign_in_as(page, officer)

    page.goto(f"{live_server.url}/work/items/{item.pk}/")

    expect(page.locator("main")).to_contain_text("HMP Eastfield")
    axe_check(page)


# --- supervisors ---------------------------------------------------------------------------


def test_supervisor_dashboard(
    live_server: LiveServer,
    page: Page,
    sign_in_as: SignInAs,
    axe_check: Check,
    interview: WorkItem,
) -> None:
    # A team, and a second trained clinician, so the reassign form has someone to offer.
    team = Team.objects.create(name="Clinical North", tier=Tier.CLINICAL)
    staff(Role.CLINICIAN, team=team)
    sign_in_as(page, staff(Role.SUPERVISOR))

    open_page(page, live_server.url + "/supervise/", heading="Queues and teams")

    expect(page.locator("main")).to_contain_text(f"Item {interview.pk}")
    expect(page.get_by_label(f"Give item {interview.pk} to")).to_be_visible()
    axe_check(page)


def test_population_search_with_results(
    live_server: LiveServer, page: Page, sign_in_as: SignInAs, axe_check: Check, case: Case
) -> None:
    create_person(details=PersonDetails(given_name="Priya", phone="07700 900123"))
    sign_in_as(page, staff(Role.SUPERVISOR))
    page.goto(live_server.url + "/supervise/search/")

    page.get_by_label("Phone number").fill("07700 900123")
    page.get_by_label("Why do you need to search?").fill("A caller asked whether we hold data")
    page.get_by_role("button", name="Search").click()

    expect(page.get_by_role("heading", name="Result")).to_be_visible()
    expect(page.locator("main")).to_contain_text("We hold 1 record with these details.")
    axe_check(page)


# --- refusals ------------------------------------------------------------------------------


def test_forbidden_page(
    live_server: LiveServer, page: Page, sign_in_as: SignInAs, axe_check: Check
) -> None:
    sign_in_as(page, staff(Role.CALL_HANDLER))

    open_page(page, live_server.url + "/supervise/", status=403, heading="You cannot see this page")

    axe_check(page)


def test_not_found_page_for_a_signed_in_tracer(
    live_server: LiveServer, page: Page, sign_in_as: SignInAs, axe_check: Check
) -> None:
    sign_in_as(page, staff(Role.CLINICIAN))

    open_page(page, live_server.url + "/work/items/999999/", status=404, heading="Page not found")

    axe_check(page)


def test_message_templates_list(
    live_server: LiveServer, page: Page, sign_in_as: SignInAs, axe_check: Check
) -> None:
    sign_in_as(page, staff(Role.SUPERVISOR))

    open_page(page, live_server.url + "/supervise/templates/", heading="Message templates")

    axe_check(page)


def test_changing_a_template_with_a_preview_and_an_error(
    live_server: LiveServer, page: Page, sign_in_as: SignInAs, axe_check: Check
) -> None:
    sign_in_as(page, staff(Role.SUPERVISOR))
    open_page(
        page,
        live_server.url + "/supervise/templates/contact_notification/email/cy/",
        heading="Contact: told to self-isolate",
    )
    axe_check(page)

    page.get_by_label("Message").fill("((first_name)) ((case_name))")
    page.get_by_role("button", name="Save as a new version").click()

    expect(page.locator(".govuk-error-summary")).to_contain_text("cannot use ((case_name))")
    axe_check(page)


def test_messaging_a_group_of_staff_and_confirming(
    live_server: LiveServer, page: Page, sign_in_as: SignInAs, axe_check: Check
) -> None:
    sign_in_as(page, staff(Role.SUPERVISOR))
    open_page(page, live_server.url + "/supervise/messages/new/", heading="Send a message to staff")
    axe_check(page)

    page.get_by_label("All active staff").check()
    page.get_by_role("button", name="Continue").click()

    expect(page.locator("main")).to_contain_text("individual message")
    axe_check(page)


def test_safeguarding_flags(
    live_server: LiveServer,
    page: Page,
    sign_in_as: SignInAs,
    axe_check: Check,
    clinician: StaffMember,
    interview: WorkItem,
) -> None:
    sign_in_as(page, clinician)

    open_page(
        page,
        live_server.url + f"/work/items/{interview.pk}/safeguarding/",
        heading="Safeguarding flags",
    )

    axe_check(page)
