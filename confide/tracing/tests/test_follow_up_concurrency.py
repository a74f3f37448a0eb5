"""Call handlers taking follow-up calls at once: each of the day's calls goes to exactly one of
them, and only follow-up calls come from "Get the next follow-up call" (the claim is
`claim_next`'s, with `FOR UPDATE SKIP LOCKED` on PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from confide.cases.tests.factories import CaseFactory
from confide.people.tests.factories import PersonFactory
from confide.staff.models import Role, StaffMember
from confide.staff.tests.factories import StaffMemberFactory
from confide.tracing.follow_up import open_follow_ups
from confide.tracing.models import Proximity
from confide.tracing.services import record_exposure
from confide.workqueue.models import WorkItem, WorkKind, WorkState
from confide.workqueue.services import claim_next, enqueue_contact_call

CONTACTS = 60
CALL_HANDLERS = 12


def take_follow_ups(call_handler: StaffMember, *, start: threading.Barrier) -> list[int]:
    claimed: list[int] = []
    try:
        start.wait(timeout=60)
        while (item := claim_next(tracer=call_handler, kind=WorkKind.FOLLOW_UP)) is not None:
            assert item.kind == WorkKind.FOLLOW_UP
            claimed.append(item.pk)
            WorkItem.objects.filter(
                pk=item.pk, state=WorkState.CLAIMED, claimed_by=call_handler
            ).update(state=WorkState.DONE, completed_at=timezone.now())
    finally:
        connection.close()  # this thread's own connection
    return claimed


@pytest.mark.django_db(transaction=True)
def test_each_follow_up_call_goes_to_exactly_one_call_handler() -> None:
    today: date = timezone.localdate()
    case = CaseFactory.create(specimen_date=today - timedelta(days=2), today=today)
    exposures = [
        record_exposure(
            case=case,
            contact=PersonFactory.create(),
            last_contact=today - timedelta(days=2),
            proximity=Proximity.CLOSE,
            today=today - timedelta(days=1),
            notify=False,
        )
        for _ in range(CONTACTS)
    ]
    opened = open_follow_ups(today=today).opened
    # First calls to contacts wait in the same tier's queue; they are not follow-ups.
    other = enqueue_contact_call(exposure=exposures[0], reason="no written channel")
    call_handlers = [
        StaffMemberFactory.create(role=Role.CALL_HANDLER) for _ in range(CALL_HANDLERS)
    ]
    start = threading.Barrier(len(call_handlers))

    with ThreadPoolExecutor(max_workers=len(call_handlers)) as pool:
        sessions = [pool.submit(take_follow_ups, member, start=start) for member in call_handlers]
        every_claim = [pk for session in sessions for pk in session.result()]

    assert opened == CONTACTS
    assert len(every_claim) == CONTACTS
    assert [pk for pk, times in Counter(every_claim).items() if times > 1] == []
    other.refresh_from_db()
    assert other.state == WorkState.WAITING
