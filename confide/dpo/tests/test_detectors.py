"""Each detector, triggered by the real event it watches, opens exactly one entry per incident
with its 72-hour deadline; running it again, or more events of the same incident, add to it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from confide.cases.models import Case
from confide.cases.tests.factories import CaseFactory
from confide.dpo.breaches import close_breach, update_breach
from confide.dpo.detectors import (
    detect_audit_chain_break,
    detect_blocked_sends,
    detect_bulk_exports,
    detect_failed_login_storm,
    detect_mass_viewing,
    detect_unassigned_viewing,
    run_detectors,
)
from confide.dpo.models import Breach, BreachSource, BreachStatus, Decision
from confide.dpo.tests.conftest import StaffMaker
from confide.messaging.guard import record_blocked_send
from confide.people.models import Person
from confide.people.selectors import read_person
from confide.people.tests.factories import PersonFactory
from confide.privacy.audit import Access, record_accesses
from confide.privacy.models import AccessAction, AccessEvent
from confide.staff.models import Role, StaffMember
from confide.tracing.models import Exposure, Proximity
from confide.tracing.services import record_exposure
from confide.workqueue.services import claim_next, enqueue_case_interview, enqueue_contact_call

pytestmark = pytest.mark.django_db


def only_entry(source: str) -> Breach:
    [entry] = Breach.objects.filter(source=source)
    assert entry.status == BreachStatus.OPEN
    assert entry.changes.exists()
    return entry


def assert_72_hour_clock(entry: Breach) -> None:
    from confide.dpo.selectors import open_breaches

    [row] = [r for r in open_breaches(now=timezone.now()) if r.breach == entry]
    assert row.clock.deadline == entry.became_aware_at + timedelta(hours=72)
    assert timedelta(hours=71) < row.clock.remaining <= timedelta(hours=72)


def decide_and_close(entry: Breach, by: StaffMember) -> None:
    update_breach(
        breach=entry,
        by=by,
        report_to_ico=Decision.NO,
        report_to_ico_reason="Near miss",
        tell_people=Decision.NO,
        tell_people_reason="Nothing was sent",
    )
    close_breach(breach=entry, by=by)


def view(member: StaffMember, people: list[Person]) -> None:
    for person in people:
        read_person(person, by=member, purpose="test")


# --- blocked sends ------------------------------------------------------------------------------


def blocked_email(count: int = 3) -> None:
    record_blocked_send(channel="email", recipient_count=count, reason="several recipients")


def test_a_blocked_send_opens_one_entry_with_a_72_hour_deadline() -> None:
    blocked_email(3)

    run = detect_blocked_sends(now=timezone.now())

    assert run.opened == 1
    entry = only_entry(BreachSource.BLOCKED_SEND)
    assert entry.approximate_people == 3
    assert_72_hour_clock(entry)


def test_more_blocked_sends_from_the_same_code_add_to_the_open_entry() -> None:
    blocked_email(3)
    detect_blocked_sends(now=timezone.now())
    blocked_email(5)
    blocked_email(2)

    detect_blocked_sends(now=timezone.now())
    detect_blocked_sends(now=timezone.now())

    entry = only_entry(BreachSource.BLOCKED_SEND)
    assert entry.event_count == 3


def test_a_blocked_send_after_the_entry_is_closed_is_a_new_incident(dpo: StaffMember) -> None:
    blocked_email()
    detect_blocked_sends(now=timezone.now())
    decide_and_close(Breach.objects.get(), dpo)
    detect_blocked_sends(now=timezone.now())
    assert Breach.objects.filter(status=BreachStatus.OPEN).count() == 0

    blocked_email()
    detect_blocked_sends(now=timezone.now())

    assert Breach.objects.filter(source=BreachSource.BLOCKED_SEND).count() == 2
    assert Breach.objects.filter(status=BreachStatus.OPEN).count() == 1


# --- viewing many people, and people not assigned -------------------------------------------------


def test_a_supervisor_viewing_unusually_many_people_opens_one_entry(
    make_staff: StaffMaker, settings: Any
) -> None:
    settings.CONFIDE_DPO_MASS_VIEWING_PEOPLE = 4
    member = make_staff(Role.SUPERVISOR)
    people = [PersonFactory.create() for _ in range(6)]
    view(member, people[:3])

    assert detect_mass_viewing(now=timezone.now()).opened == 0
    view(member, people[3:])
    assert detect_mass_viewing(now=timezone.now()).opened == 1
    view(member, people[:2])
    detect_mass_viewing(now=timezone.now())

    entry = only_entry(BreachSource.MASS_VIEWING)
    assert entry.incident_key == str(member.reference)
    assert entry.approximate_people == 6
    assert entry.event_count == 8
    assert_72_hour_clock(entry)


def test_viewing_below_the_threshold_opens_nothing(make_staff: StaffMaker) -> None:
    member = make_staff(Role.SUPERVISOR)
    view(member, [PersonFactory.create() for _ in range(3)])

    run_detectors(include_audit_chain=False)

    assert not Breach.objects.exists()


def test_a_tracer_viewing_people_not_assigned_to_them_opens_one_entry(
    make_staff: StaffMaker, settings: Any
) -> None:
    settings.CONFIDE_DPO_UNASSIGNED_VIEWING_PEOPLE = 2
    tracer = make_staff(Role.CLINICIAN)
    today = timezone.localdate()
    own = CaseFactory.create(specimen_date=today - timedelta(days=2), today=today)
    enqueue_case_interview(case=own)
    assert claim_next(tracer=tracer) is not None
    for _ in range(5):
        read_person(own.person, by=tracer, purpose="case interview")

    assert detect_unassigned_viewing(now=timezone.now()).opened == 0
    strangers = [PersonFactory.create() for _ in range(2)]
    view(tracer, strangers)
    detect_unassigned_viewing(now=timezone.now())
    detect_unassigned_viewing(now=timezone.now())

    entry = only_entry(BreachSource.UNASSIGNED_VIEWING)
    assert entry.approximate_people == 2
    assert entry.incident_key == str(tracer.reference)
    assert_72_hour_clock(entry)


def named_contact(case: Case, today: date) -> Exposure:
    """A new person the case named as a household contact yesterday (no message queued)."""
    return record_exposure(
        case=case,
        contact=PersonFactory.create(),
        last_contact=today - timedelta(days=1),
        proximity=Proximity.HOUSEHOLD,
        today=today,
        notify=False,
    )


def test_a_tracer_viewing_their_case_s_contacts_and_the_contact_they_call_opens_nothing(
    make_staff: StaffMaker, settings: Any
) -> None:
    settings.CONFIDE_DPO_UNASSIGNED_VIEWING_PEOPLE = 1
    today = timezone.localdate()
    clinician = make_staff(Role.CLINICIAN)
    own = CaseFactory.create(specimen_date=today - timedelta(days=2), today=today)
    enqueue_case_interview(case=own)
    assert claim_next(tracer=clinician) is not None
    named = [named_contact(own, today), named_contact(own, today)]
    call_handler = make_staff(Role.CALL_HANDLER)
    other_case = CaseFactory.create(specimen_date=today - timedelta(days=2), today=today)
    called = named_contact(other_case, today)
    enqueue_contact_call(exposure=called, reason="no email or phone")
    assert claim_next(tracer=call_handler) is not None

    view(clinician, [own.person, *(e.contact for e in named)])
    view(call_handler, [called.contact])

    assert detect_unassigned_viewing(now=timezone.now()).opened == 0
    view(call_handler, [other_case.person])  # the case who named them is not theirs
    assert detect_unassigned_viewing(now=timezone.now()).opened == 1


# --- bulk exports -------------------------------------------------------------------------------


def test_an_export_of_many_people_opens_one_entry(make_staff: StaffMaker, settings: Any) -> None:
    settings.CONFIDE_DPO_BULK_EXPORT_PEOPLE = 3
    member = make_staff(Role.SUPERVISOR)
    people = [PersonFactory.create() for _ in range(4)]

    def export(batch: list[Person]) -> None:
        record_accesses(
            [
                Access(
                    action=AccessAction.EXPORT,
                    purpose="export",
                    actor_reference=member.reference,
                    subject_reference=p.reference,
                )
                for p in batch
            ]
        )

    export(people[:2])
    assert detect_bulk_exports(now=timezone.now()).opened == 0
    export(people[2:])
    detect_bulk_exports(now=timezone.now())
    detect_bulk_exports(now=timezone.now())

    entry = only_entry(BreachSource.BULK_EXPORT)
    assert entry.approximate_people == 4
    assert_72_hour_clock(entry)


# --- failed sign-ins ------------------------------------------------------------------------------


def test_a_storm_of_failed_sign_ins_opens_one_entry(settings: Any) -> None:
    settings.CONFIDE_DPO_FAILED_LOGIN_STORM = 6
    client = Client()

    def fail(n: int) -> None:
        client.post(
            "/sign-in/",
            {"username": f"guess{n}@confide.example.org", "password": "wrong"},
            REMOTE_ADDR=f"192.0.2.{n + 1}",
        )

    for n in range(5):
        fail(n)
    assert detect_failed_login_storm(now=timezone.now()).opened == 0
    for n in range(5, 8):
        fail(n)
    detect_failed_login_storm(now=timezone.now())
    fail(9)
    detect_failed_login_storm(now=timezone.now())

    entry = only_entry(BreachSource.FAILED_LOGIN_STORM)
    assert entry.event_count == 9
    # Approximate numbers only grow, to the largest any one run saw: a lower bound.
    assert entry.approximate_people == 8
    assert_72_hour_clock(entry)


# --- the access log -------------------------------------------------------------------------------


def test_an_edited_access_log_entry_opens_one_entry(make_staff: StaffMaker) -> None:
    member = make_staff(Role.SUPERVISOR)
    view(member, [PersonFactory.create() for _ in range(3)])
    assert detect_audit_chain_break(now=timezone.now()).opened == 0
    second = AccessEvent.objects.order_by("sequence")[1]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AccessEvent._meta.db_table} SET purpose = %s WHERE id = %s",
            ["nothing to see", second.pk],
        )

    detect_audit_chain_break(now=timezone.now())
    detect_audit_chain_break(now=timezone.now())

    entry = only_entry(BreachSource.AUDIT_CHAIN)
    assert entry.incident_key.startswith(f"{second.sequence}:")
    assert str(second.sequence) in entry.facts
    assert_72_hour_clock(entry)


def test_run_detectors_on_a_quiet_system_opens_nothing() -> None:
    runs = run_detectors()

    assert {r.detector for r in runs} == set(BreachSource.values) - {BreachSource.MANUAL}
    assert not Breach.objects.exists()
