"""Bank details, evidence and help requests are absent from a raw dump of the database."""

from __future__ import annotations

import pytest
from django.db import connection

from confide.staff.models import Role, Team
from confide.support import services
from confide.support.periods import isolation_period_for
from confide.support.tests.factories import (
    contact_visitor,
    draft_application,
    isolating_contact,
    make_member,
)
from tests.test_no_plaintext_at_rest import _leaks, _raw_database_bytes

CANARY = "CANARY-support-team-name"
ACCOUNT_NAME = "Morwenna Quillfeather"
SORT_CODE = "401276"
ACCOUNT_NUMBER = "91827364"
HELP_TEXT = "Insulin from the Tregaron pharmacy"
REASON = "Employer letter confirms statutory sick pay only"
# Evidence content that would be easy to spot: a "PDF" whose text is a payslip line.
EVIDENCE = b"%PDF-1.4\n(Payslip: Morwenna Quillfeather, net pay 812.40) Tj\n%%EOF\n"


@pytest.mark.django_db(transaction=True)
def test_a_raw_dump_holds_no_bank_details_evidence_help_text_or_reasons() -> None:
    exposure = isolating_contact()
    application = draft_application(exposure)
    for question, answer in (
        ("employment", "self_employed"),
        ("work_from_home", "no"),
        ("benefit", "working_tax_credit"),
    ):
        services.answer_question(application=application, question=question, answer=answer)
    services.save_bank_details(
        application=application,
        account_name=ACCOUNT_NAME,
        sort_code=SORT_CODE,
        account_number=ACCOUNT_NUMBER,
    )
    services.add_evidence(application=application, content=EVIDENCE)
    services.submit_application(application=application)
    services.reject_application(
        application=application, by=make_member(Role.SUPPORT_OFFICER), reason=REASON
    )
    period = isolation_period_for(contact_visitor(exposure))
    assert period is not None
    services.request_practical_help(period=period, kind="medicine", details=HELP_TEXT)
    Team.objects.create(name=CANARY)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    raw = _raw_database_bytes()

    assert CANARY.encode() in raw, "the raw reader did not see the database's contents"
    values = {
        ACCOUNT_NAME,
        SORT_CODE,
        "40-12-76",
        ACCOUNT_NUMBER,
        f"{SORT_CODE}|{ACCOUNT_NUMBER}",
        HELP_TEXT,
        REASON,
        "Payslip: Morwenna",
        "working_tax_credit",
        "self_employed",
    }
    assert _leaks(raw, values) == []
