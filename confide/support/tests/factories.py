"""Test data for isolation support, made through the real services: a contact in isolation
today, their verified session (as `confide.public.access` leaves it), applications as a
person would make them, and signed-in staff."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import timedelta

from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from confide.cases.models import Case
from confide.cases.tests.factories import CaseFactory
from confide.people.models import Person
from confide.people.tests.factories import PersonFactory
from confide.public.access import VISITOR_SESSION_KEY, PublicVisitor
from confide.staff.models import StaffMember
from confide.staff.tests.factories import (
    StaffMemberFactory,
    confirmed_totp_device,
    record_in_date_training,
)
from confide.support import services
from confide.support.models import SupportApplication
from confide.support.periods import isolation_period_for
from confide.tracing.models import Exposure, Proximity
from confide.tracing.services import record_exposure

STAFF_BACKEND = "confide.staff.auth.EmailBlindIndexBackend"
# A PDF's first bytes are what the content check reads: "%PDF-".
SMALL_PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ELIGIBLE_ANSWERS = {
    "employment": "employed",
    "work_from_home": "no",
    "benefit": "universal_credit",
}


def isolating_contact(*, case: Case | None = None, contact: Person | None = None) -> Exposure:
    """A contact told to isolate two days ago, through the real tracing service."""
    today = timezone.localdate()
    case = case or CaseFactory.create(specimen_date=today - timedelta(days=2), today=today)
    return record_exposure(
        case=case,
        contact=contact or PersonFactory.create(),
        last_contact=today - timedelta(days=2),
        proximity=Proximity.HOUSEHOLD,
        today=today - timedelta(days=1),
        notify=False,
    )


def contact_visitor(exposure: Exposure) -> PublicVisitor:
    return PublicVisitor(
        person_id=exposure.contact_id,
        role="contact",
        case_id=None,
        exposure_id=exposure.pk,
        link_id=0,
    )


def verified_session(client: Client, visitor: PublicVisitor) -> Client:
    """The client's session as `remember_verified_visitor` leaves it after verification."""
    session = client.session
    session[VISITOR_SESSION_KEY] = {**asdict(visitor), "seen": time.time()}
    session.save()
    return client


def make_member(role: str, *, trained: bool = True) -> StaffMember:
    member = StaffMemberFactory.create(role=role)
    if trained:
        record_in_date_training(member)
    return member


def signed_in(member: StaffMember) -> Client:
    """A client signed in as `member` with both factors."""
    client = Client()
    client.force_login(member, backend=STAFF_BACKEND)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = confirmed_totp_device(member).persistent_id
    session.save()
    return client


def draft_application(exposure: Exposure) -> SupportApplication:
    period = isolation_period_for(contact_visitor(exposure))
    assert period is not None
    return services.start_application(period=period, today=timezone.localdate())


def submitted_application(
    exposure: Exposure,
    *,
    sort_code: str = "309430",
    account_number: str = "00733445",
    answers: dict[str, str] | None = None,
) -> SupportApplication:
    application = draft_application(exposure)
    for question, answer in (answers or ELIGIBLE_ANSWERS).items():
        services.answer_question(application=application, question=question, answer=answer)
    services.save_bank_details(
        application=application,
        account_name="Alex Example",
        sort_code=sort_code,
        account_number=account_number,
    )
    services.add_evidence(application=application, content=SMALL_PDF)
    return services.submit_application(application=application)
