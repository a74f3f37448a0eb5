"""A raw dump after the whole disclosure flow — request, approvals, release — holds neither the
person's values nor what the requester wrote; the breach register holds no personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from confide.dpo.detectors import run_detectors
from confide.dpo.disclosures import (
    DISCLOSABLE_FIELDS,
    approve_disclosure,
    produce_disclosure,
    record_disclosure_request,
    second_approve_disclosure,
)
from confide.dpo.models import LawfulBasis, RequesterKind
from confide.dpo.tests.conftest import make_member
from confide.messaging.guard import record_blocked_send
from confide.people.selectors import person_details
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.staff.models import Role
from tests.test_no_plaintext_at_rest import _leaks, _raw_database_bytes

REQUESTER = "Detective Constable Wilhelmina Ashgrove"
PURPOSE = "Investigating Ottoline Featherstonehaugh of Quayside"


@pytest.mark.django_db(transaction=True)
def test_a_raw_dump_after_a_disclosure_holds_neither_the_person_nor_the_requester() -> None:
    supervisor = make_member(Role.SUPERVISOR)
    dpo = make_member(Role.DATA_PROTECTION_OFFICER)
    administrator = make_member(Role.ADMINISTRATOR)
    person = PersonFactory.create(
        details=PersonDetailsFactory.build(given_name="Ottoline", family_name="Featherstonehaugh")
    )
    details = person_details(person)
    request = record_disclosure_request(
        by=supervisor,
        received_at=timezone.now() - timedelta(minutes=1),
        requester_kind=RequesterKind.POLICE,
        organisation="CANARY-police-force",
        requester_name=REQUESTER,
        requester_contact="wilhelmina.ashgrove@police.example",
        stated_purpose=PURPOSE,
        requested_fields=list(DISCLOSABLE_FIELDS),
        nhs_number=details.nhs_number,
    )
    approve_disclosure(
        request=request,
        by=dpo,
        lawful_basis=LawfulBasis.COURT_ORDER,
        justification="Order about Ottoline Featherstonehaugh",
        fields=list(DISCLOSABLE_FIELDS),
    )
    second_approve_disclosure(request=request, by=administrator)
    released = produce_disclosure(request=request, by=dpo)
    assert released.people[0].values["family_name"] == "Featherstonehaugh"
    record_blocked_send(channel="email", recipient_count=2, reason="several recipients")
    run_detectors()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    raw = _raw_database_bytes()

    assert b"CANARY-police-force" in raw, "the raw reader did not see the database's contents"
    values = {
        REQUESTER,
        PURPOSE,
        "Ashgrove",
        "Featherstonehaugh",
        "wilhelmina.ashgrove@police.example",
        details.nhs_number,
        details.email,
        details.address,
    }
    assert _leaks(raw, values) == []
