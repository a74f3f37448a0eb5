"""The supervisor's line list: one CSV row per case, streamed.

A line list is what an outbreak team works from: each case's reference, status, tier, dates
and how many contacts it named, and nothing that identifies anyone (no names, no contact
details, no contact's reference), so it needs no decryption and no per-person access entry.
The export itself is logged once, as an `export` AccessEvent naming who took it.

It is streamed: rows come from the database through a server-side cursor on PostgreSQL
(`iterator(chunk_size)`) and leave as CSV text a chunk at a time, so a million cases cost the
same memory as a thousand.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from confide.cases.models import Case, CaseStatus
from confide.privacy.audit import Access, record_access
from confide.privacy.models import AccessAction
from confide.staff.models import StaffMember, Tier
from confide.tracing.models import Exposure

CHUNK_ROWS = 2_000
HEADER = (
    "case_reference",
    "status",
    "tier",
    "specimen_date",
    "symptom_onset",
    "infectious_from",
    "infectious_until",
    "opened_at",
    "closed_at",
    "contacts_named",
)
PURPOSE = "supervisor line list (cases: references, dates, status, counts)"


def record_line_list_export(*, by: StaffMember) -> None:
    record_access(
        Access(
            action=AccessAction.EXPORT,
            purpose=PURPOSE,
            actor_reference=by.reference,
            object_type="line_list",
        )
    )


def line_list_rows() -> Iterator[tuple[Any, ...]]:
    """Every case, oldest first: the values of HEADER, with labels for status and tier."""
    named = (
        Exposure.objects.filter(case=OuterRef("pk"))
        .order_by()
        .values("case")
        .annotate(n=Count("pk"))
        .values("n")
    )
    cases = (
        Case.objects.annotate(
            contacts_named=Coalesce(
                Subquery(named, output_field=IntegerField()), Value(0), output_field=IntegerField()
            )
        )
        .order_by("pk")
        .values_list(
            "reference",
            "status",
            "tier",
            "specimen_date",
            "symptom_onset",
            "infectious_from",
            "infectious_until",
            "created_at",
            "closed_at",
            "contacts_named",
        )
    )
    statuses = dict(CaseStatus.choices)
    tiers = dict(Tier.choices)
    for row in cases.iterator(chunk_size=CHUNK_ROWS):
        reference, status, tier, *dates, opened, closed, contacts = row
        yield (
            reference,
            statuses.get(status, status),
            tiers.get(tier, tier),
            *(d.isoformat() if d else "" for d in dates),
            opened.isoformat(timespec="seconds"),
            closed.isoformat(timespec="seconds") if closed else "",
            contacts,
        )


def line_list_csv() -> Iterator[str]:
    """The line list as CSV text, a chunk of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    pending = 0
    for row in line_list_rows():
        writer.writerow(row)
        pending += 1
        if pending == CHUNK_ROWS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()
