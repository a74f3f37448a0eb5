"""A call handler's daily follow-up calls in Chromium: take the next call, record the check-in
(with JavaScript and without), and the pages pass axe-core's WCAG 2.2 AA rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from confide.cases.tests.factories import CaseFactory
from confide.messaging.models import Message
from confide.messaging.template_types import TemplateKind
from confide.people.details import PersonDetails
from confide.people.services import create_person
from confide.staff.models import Role, StaffMember
from confide.staff.tests.factories import StaffMemberFactory, record_in_date_training
from confide.tracing.follow_up import open_follow_ups
from confide.tracing.models import Exposure, FollowUp, FollowUpOutcome, FollowUpStatus, Proximity
from confide.tracing.services import record_exposure
from confide.workqueue.models import WorkItem, WorkKind

from .conftest import BrowserLog, SignInAs

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fast_passwords"),
]

Check = Callable[[Page], Any]


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def exposure(today: date) -> Exposure:
    """A contact named yesterday: their first daily check is today, and it is in the queue."""
    case = CaseFactory.create(specimen_date=today - timedelta(days=2), today=today)
    contact = create_person(
        details=PersonDetails(
            given_name="Ottoline",
            family_name="Brackenbury",
            phone="07700 900123",
            email="ottoline@example.org",
        )
    )
    exposure = record_exposure(
        case=case,
        contact=contact,
        last_contact=today - timedelta(days=2),
        proximity=Proximity.HOUSEHOLD,
        today=today - timedelta(days=1),
        notify=False,
    )
    open_follow_ups(today=today)
    return exposure


@pytest.fixture
def call_handler() -> StaffMember:
    member = StaffMemberFactory.create(role=Role.CALL_HANDLER)
    record_in_date_training(member)
    return member


def take_the_next_call(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/work/")
    page.get_by_role("link", name="Follow-ups due today").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Follow-ups due today")
    page.get_by_role("button", name="Get the next follow-up call").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Call Ottoline")


def test_a_call_handler_records_symptoms_and_the_contact_is_told_to_book_a_test(
    live_server: LiveServer,
    page: Page,
    sign_in_as: SignInAs,
    browser_log: BrowserLog,
    call_handler: StaffMember,
    exposure: Exposure,
    today: date,
) -> None:
    sign_in_as(page, call_handler)
    take_the_next_call(page, live_server)
    expect(page.locator("main")).to_contain_text("Day 2 of")
    expect(page.locator("main")).not_to_contain_text("Brackenbury")

    page.get_by_label("They have symptoms").check()
    onset = page.get_by_role("group", name="When did their symptoms start?")
    onset.get_by_label("Day").fill(str(today.day))
    onset.get_by_label("Month").fill(str(today.month))
    onset.get_by_label("Year").fill(str(today.year))
    page.get_by_role("button", name="Record the check-in").click()

    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "We will tell them to book a test, and a clinician will call them"
    )
    follow_up = FollowUp.objects.get(exposure=exposure, due_on=today)
    assert (follow_up.status, follow_up.outcome) == (FollowUpStatus.DONE, FollowUpOutcome.SYMPTOMS)
    assert Message.objects.get(person=exposure.contact).template.kind == TemplateKind.BOOK_A_TEST
    assert WorkItem.objects.filter(kind=WorkKind.CONTACT_SYMPTOMS, exposure=exposure).exists()
    assert browser_log.console_errors == []
    assert browser_log.failed_requests == []


def test_the_check_in_works_without_javascript(
    live_server: LiveServer,
    page_without_javascript: Page,
    sign_in_as: SignInAs,
    call_handler: StaffMember,
    exposure: Exposure,
    today: date,
) -> None:
    page = sign_in_as(page_without_javascript, call_handler)
    take_the_next_call(page, live_server)

    page.get_by_label("They need support to keep self-isolating").check()
    page.get_by_role("button", name="Record the check-in").click()

    expect(page.locator(".govuk-notification-banner")).to_contain_text("refer them to local")
    assert FollowUp.objects.get(exposure=exposure, due_on=today).status == FollowUpStatus.DONE


def test_follow_ups_page_is_accessible(
    live_server: LiveServer,
    page: Page,
    sign_in_as: SignInAs,
    axe_check: Check,
    call_handler: StaffMember,
    exposure: Exposure,
) -> None:
    sign_in_as(page, call_handler)
    page.goto(f"{live_server.url}/work/follow-ups/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Follow-ups due today")

    axe_check(page)


def test_check_in_page_with_an_error_is_accessible(
    live_server: LiveServer,
    page: Page,
    sign_in_as: SignInAs,
    axe_check: Check,
    call_handler: StaffMember,
    exposure: Exposure,
) -> None:
    sign_in_as(page, call_handler)
    take_the_next_call(page, live_server)
    axe_check(page)

    page.get_by_label("They have symptoms").check()
    page.get_by_role("button", name="Record the check-in").click()

    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter the date their symptoms started"
    )
    axe_check(page)
