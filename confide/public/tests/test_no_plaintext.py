"""A raw dump of the database, with a case's link, a one-time code and a saved draft present,
holds none of the personal values, the link's token or the code in clear."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from confide.messaging.template_types import TemplateKind
from confide.public.answers import CaseAnswers, ContactAnswer, PlaceAnswer, save_answers
from confide.public.models import CaseDraft, SelfServiceLink, VerificationCode
from tests.test_no_plaintext_at_rest import _leaks, _raw_database_bytes

from .journey import (
    CASE_DETAILS,
    CASE_DOB,
    case_with_link,
    code_in,
    date_parts,
    latest,
    message_body,
)


@pytest.mark.django_db(transaction=True)
def test_a_raw_dump_with_drafts_links_and_codes_holds_no_plaintext() -> None:
    today = timezone.localdate()
    issued = case_with_link(today=today)
    link = SelfServiceLink.objects.get(case=issued.case)
    Client().post(
        f"/p/{issued.token}/",
        date_parts("date_of_birth", CASE_DOB),
    )
    code = code_in(message_body(latest(TemplateKind.VERIFICATION_CODE)))
    save_answers(
        link=link,
        answers=CaseAnswers(
            symptoms="yes",
            symptom_onset=(today - timedelta(days=3)).isoformat(),
            places=[PlaceAnswer("venue", "Grisewood Arms", "EC1A 1BB", today.isoformat())],
            contacts=[
                ContactAnswer(
                    given_name="Hildegarde",
                    family_name="Poundstretcher",
                    phone="07700 900321",
                    email="hildegarde.poundstretcher@example.net",
                    last_contact=(today - timedelta(days=1)).isoformat(),
                    proximity="close",
                )
            ],
        ),
    )
    assert CaseDraft.objects.exists()
    assert VerificationCode.objects.exists()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = _raw_database_bytes()
    assert link.token_hash.encode() in raw, "the raw reader did not see the links table"
    secrets_and_values = {
        issued.token,
        CASE_DETAILS.given_name,
        CASE_DETAILS.family_name,
        CASE_DETAILS.email,
        CASE_DETAILS.nhs_number,
        CASE_DETAILS.address,
        "Hildegarde",
        "Poundstretcher",
        "hildegarde.poundstretcher@example.net",
        "07700 900321",
        "Grisewood Arms",
    }
    assert _leaks(raw, secrets_and_values) == []
    # A six-digit code could occur by chance in random bytes; its keyed hash must not be its
    # plain SHA-256 either (that would fall to a 10^6 search).
    import hashlib

    assert hashlib.sha256(code.encode()).hexdigest().encode() not in raw
