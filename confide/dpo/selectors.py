"""Reads for the data protection office's pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count

from confide.dpo.clock import TimeLeft, time_left
from confide.dpo.models import Breach, BreachStatus, DataCategory, Decision, DisclosureRequest


@dataclass(frozen=True)
class OpenBreach:
    breach: Breach
    clock: TimeLeft

    @property
    def clock_stopped(self) -> bool:
        """Art. 33's clock is about reporting: it stops once the ICO is told, or once the DPO
        has decided (with reasons) that the breach need not be reported."""
        return (
            self.breach.reported_to_ico_at is not None or self.breach.report_to_ico == Decision.NO
        )

    @property
    def overdue(self) -> bool:
        return self.clock.overdue and not self.clock_stopped


def open_breaches(*, now: datetime) -> list[OpenBreach]:
    """Open entries, the soonest (or most overdue) deadline first."""
    breaches = Breach.objects.filter(status=BreachStatus.OPEN).order_by("became_aware_at", "pk")
    return [OpenBreach(b, time_left(became_aware_at=b.became_aware_at, now=now)) for b in breaches]


def recent_disclosure_requests(limit: int = 50) -> list[DisclosureRequest]:
    return list(
        DisclosureRequest.objects.annotate(subject_count=Count("subjects")).order_by(
            "-received_at"
        )[:limit]
    )


def ico_report(breach: Breach, *, now: datetime) -> dict[str, Any]:
    """What the ICO's breach report form asks (Art. 33(3)), as data: counts and categories of
    the people affected, never anything about them."""
    clock = time_left(became_aware_at=breach.became_aware_at, now=now)
    labels = dict(DataCategory.choices)
    return {
        "reference": str(breach.reference),
        "summary": breach.summary,
        "status": breach.status,
        "source": breach.get_source_display(),
        "became_aware_at": breach.became_aware_at.isoformat(),
        "reporting_deadline": clock.deadline.isoformat(),
        "facts": breach.facts,
        "data_categories": [labels.get(c, c) for c in breach.data_categories],
        "approximate_people": breach.approximate_people,
        "approximate_records": breach.approximate_records,
        "likely_consequences": breach.likely_consequences,
        "measures_taken": breach.measures_taken,
        "measures_proposed": breach.measures_proposed,
        "report_to_ico": breach.report_to_ico,
        "report_to_ico_reason": breach.report_to_ico_reason,
        "reported_to_ico_at": breach.reported_to_ico_at.isoformat()
        if breach.reported_to_ico_at
        else None,
        "tell_people": breach.tell_people,
        "tell_people_reason": breach.tell_people_reason,
        "people_told_at": breach.people_told_at.isoformat() if breach.people_told_at else None,
        "generated_at": now.isoformat(),
    }
