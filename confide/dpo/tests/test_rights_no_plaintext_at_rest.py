"""A raw dump after subject access (export, rectification, erasure) and a retention sweep holds
none of the person's values: exports are made in memory, and what is stored stays sealed."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from confide.cases.tests.factories import CaseFactory
from confide.dpo.models import VerificationMethod
from confide.dpo.retention import retention_sweep
from confide.dpo.subject_access import (
    erase_subject,
    record_subject_access_request,
    rectify_subject,
    subject_access_export,
)
from confide.dpo.tests.conftest import make_member
from confide.people.selectors import person_details
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.staff.models import Role
from confide.tracing.models import Proximity
from confide.tracing.services import record_exposure
from tests.test_no_plaintext_at_rest import _leaks, _raw_database_bytes


@pytest.mark.django_db(transaction=True)
def test_a_raw_dump_after_subject_access_and_a_sweep_holds_no_personal_values() -> None:
    today = timezone.localdate()
    dpo = make_member(Role.DATA_PROTECTION_OFFICER)
    person = PersonFactory.create(
        details=PersonDetailsFactory.build(given_name="Marigold", family_name="Thistlewaite")
    )
    contact = PersonFactory.create(
        details=PersonDetailsFactory.build(given_name="Peregrine", family_name="Ambleforth")
    )
    case = CaseFactory.create(person=person, specimen_date=today - timedelta(days=2), today=today)
    exposure = record_exposure(
        case=case,
        contact=contact,
        last_contact=today - timedelta(days=2),
        proximity=Proximity.CLOSE,
        today=today,
    )
    details = person_details(person)
    request = record_subject_access_request(
        by=dpo, verification=VerificationMethod.NHS_LOGIN, nhs_number=details.nhs_number
    )
    exported = subject_access_export(request=request, by=dpo, file_format="JSON").as_json()
    assert "Thistlewaite" in exported
    rectify_subject(
        request=request,
        by=dpo,
        details=PersonDetailsFactory.build(given_name="Marigold", family_name="Quenby-Hartswood"),
    )
    contact_details = person_details(contact)
    contact_request = record_subject_access_request(
        by=dpo, verification=VerificationMethod.NHS_LOGIN, nhs_number=contact_details.nhs_number
    )
    after_isolation = exposure.isolation_ends_on + timedelta(days=1)
    erase_subject(request=contact_request, by=dpo, today=after_isolation)
    retention_sweep(
        now=timezone.make_aware(datetime.combine(after_isolation + timedelta(days=30), time(12)))
    )
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    raw = _raw_database_bytes()

    assert b"nhs_login" in raw, "the raw reader did not see the database's contents"
    values = {
        "Thistlewaite",
        "Quenby-Hartswood",
        "Ambleforth",
        "Peregrine",
        "Marigold",
        details.nhs_number,
        details.email,
        contact_details.nhs_number,
        contact_details.email,
    }
    assert _leaks(raw, values) == []
