"""Weekly figures, counted from the case and contact records and suppressed for publication.

Definitions (docs/statistics.md explains them for readers):
- a case is *transferred to contact tracing* when Confide opens it (Case.created_at): every
  case is opened from a positive result for the tracing service to act on;
- a case is *reached* when its interview is completed: its first move to "completed"
  (CaseTransition). This includes people who were spoken to and refused to give contacts;
- *within 24 hours* compares that move with the case's creation;
- a *contact identified* is an Exposure recorded against a case;
- a contact is *reached* when a tracer completed a call with them (CallAttempt "completed" on a
  work item about the exposure) or their notification was sent (Exposure.notification_state);
  the time to reach them runs from the exposure's creation to the first completed call or the
  message's sent time; a contact with neither timestamp is reached but has no time;
- a *support application* is one sent for review (SupportApplication.submitted_at), counted in
  the week of its case (the contact's naming case, or the applicant's own); a *payment* is an
  application whose payment is recorded.
Weeks are ISO weeks (Monday to Sunday) of the case's creation, in UK time; contacts are counted
in their case's week, as England's NHS Test and Trace publication did.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Min
from django.utils import timezone

from confide.cases.models import Case, CaseStatus, CaseTransition
from confide.statistics.suppression import SUPPRESSED, suppress
from confide.statistics.tables import (
    ALL_WEEKS,
    CASE_COLUMNS,
    CONTACT_COLUMNS,
    SUPPORT_COLUMNS,
    Cell,
    cumulative_cells_to_protect,
    table_equations,
)
from confide.support.models import ApplicationState, SupportApplication
from confide.tracing.models import Exposure, NotificationState
from confide.workqueue.models import CallAttempt, CallOutcome

DAY = timedelta(hours=24)
Figure = int | float | str | None  # a number, SUPPRESSED, or None for "no data"


@dataclass(frozen=True)
class WeeklyRow:
    """One week's published figures (or the all-weeks row), already suppressed."""

    week: str  # "2021-W02" or "all"
    week_starts_on: date | None
    cases_transferred: Figure
    cases_reached: Figure
    cases_reached_percent: Figure
    cases_reached_within_24h: Figure
    cases_reached_within_24h_percent: Figure
    contacts_identified: Figure
    contacts_reached: Figure
    contacts_reached_percent: Figure
    contacts_median_hours_to_reach: Figure
    support_applications: Figure
    support_payments: Figure

    def as_dict(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "week_starts_on": self.week_starts_on.isoformat() if self.week_starts_on else None,
            **{name: getattr(self, name) for name in PUBLISHED_FIELDS},
        }


PUBLISHED_FIELDS = (
    "cases_transferred",
    "cases_reached",
    "cases_reached_percent",
    "cases_reached_within_24h",
    "cases_reached_within_24h_percent",
    "contacts_identified",
    "contacts_reached",
    "contacts_reached_percent",
    "contacts_median_hours_to_reach",
    "support_applications",
    "support_payments",
)


def iso_week(moment: datetime) -> str:
    year, week, _ = timezone.localtime(moment).isocalendar()
    return f"{year}-W{week:02d}"


def _week_start(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def _case_counts() -> tuple[dict[Cell, int], dict[int, str]]:
    reached_at = dict(
        CaseTransition.objects.filter(to_status=CaseStatus.COMPLETED)
        .values("case_id")
        .annotate(first=Min("at"))
        .values_list("case_id", "first")
    )
    counts: dict[Cell, int] = defaultdict(int)
    week_of_case: dict[int, str] = {}
    for case_id, created_at in Case.objects.values_list("pk", "created_at").iterator():
        week = iso_week(created_at)
        week_of_case[case_id] = week
        reached = reached_at.get(case_id)
        if reached is None:
            column = "not_reached"
        elif reached - created_at <= DAY:
            column = "reached_within_24h"
        else:
            column = "reached_after_24h"
        counts[(week, column)] += 1
    return counts, week_of_case


def _contact_counts(
    week_of_case: dict[int, str],
) -> tuple[dict[Cell, int], dict[str, list[float]]]:
    called_at = dict(
        CallAttempt.objects.filter(outcome=CallOutcome.COMPLETED, work_item__exposure__isnull=False)
        .values("work_item__exposure_id")
        .annotate(first=Min("at"))
        .values_list("work_item__exposure_id", "first")
    )
    counts: dict[Cell, int] = defaultdict(int)
    hours: dict[str, list[float]] = defaultdict(list)
    rows = Exposure.objects.values_list(
        "pk", "case_id", "created_at", "notification_state", "notification_message__sent_at"
    )
    for exposure_id, case_id, created_at, state, sent_at in rows.iterator():
        week = week_of_case[case_id]
        times = [t for t in (called_at.get(exposure_id), sent_at) if t is not None]
        reached = bool(times) or state == NotificationState.SENT
        counts[(week, "reached" if reached else "not_reached")] += 1
        if times:
            hours[week].append((min(times) - created_at).total_seconds() / 3600)
    return counts, hours


def _support_counts(week_of_case: dict[int, str]) -> dict[Cell, int]:
    """Submitted support applications, counted in the week of the case they came from (the
    contact's naming case, or the case's own), like every other figure on the page."""
    counts: dict[Cell, int] = defaultdict(int)
    rows = SupportApplication.objects.filter(submitted_at__isnull=False).values_list(
        "state", "case_id", "exposure__case_id"
    )
    for state, case_id, naming_case_id in rows.iterator():
        week = week_of_case.get(case_id or naming_case_id)
        if week is not None:
            counts[(week, "paid" if state == ApplicationState.PAID else "not_paid")] += 1
    return counts


def _complete(
    counts: dict[Cell, int], weeks: list[str], columns: tuple[Any, ...]
) -> dict[Cell, int]:
    """Every cell of the table, totals included."""
    cells: dict[Cell, int] = {}
    for week in weeks:
        for column in columns:
            cells[(week, column.name)] = (
                sum(cells[(week, part)] for part in column.parts)
                if column.parts
                else counts.get((week, column.name), 0)
            )
    for column in columns:
        cells[(ALL_WEEKS, column.name)] = sum(cells[(week, column.name)] for week in weeks)
    return cells


def _shown(cells: dict[Cell, int], hidden: frozenset[Cell], key: Cell) -> Figure:
    return SUPPRESSED if key in hidden else cells[key]


def _percent(cells: dict[Cell, int], hidden: frozenset[Cell], part: Cell, whole: Cell) -> Figure:
    if part in hidden or whole in hidden:
        return SUPPRESSED
    if cells[whole] == 0:
        return None
    return round(100 * cells[part] / cells[whole], 1)


@dataclass(frozen=True)
class WeeklyCounts:
    """The true counts, before suppression: never published as they are."""

    weeks: list[str]  # newest first
    case_cells: dict[Cell, int]
    contact_cells: dict[Cell, int]
    hours_to_reach_contacts: dict[str, list[float]]
    support_cells: dict[Cell, int]


def weekly_counts() -> WeeklyCounts:
    case_counts, week_of_case = _case_counts()
    contact_counts, hours = _contact_counts(week_of_case)
    weeks = sorted({week for week, _ in case_counts}, reverse=True)
    hours[ALL_WEEKS] = [value for week in weeks for value in hours[week]]
    return WeeklyCounts(
        weeks=weeks,
        case_cells=_complete(case_counts, weeks, CASE_COLUMNS),
        contact_cells=_complete(contact_counts, weeks, CONTACT_COLUMNS),
        hours_to_reach_contacts=hours,
        support_cells=_complete(_support_counts(week_of_case), weeks, SUPPORT_COLUMNS),
    )


def weekly_figures() -> list[WeeklyRow]:
    """Published rows, newest week first, then the all-weeks row."""
    counts = weekly_counts()
    weeks, case_cells, contact_cells = counts.weeks, counts.case_cells, counts.contact_cells
    hours = counts.hours_to_reach_contacts
    hidden_cases = suppress(
        case_cells,
        table_equations(weeks, CASE_COLUMNS),
        protect=cumulative_cells_to_protect(case_cells, weeks, CASE_COLUMNS),
    )
    hidden_contacts = suppress(
        contact_cells,
        table_equations(weeks, CONTACT_COLUMNS),
        protect=cumulative_cells_to_protect(contact_cells, weeks, CONTACT_COLUMNS),
    )
    support_cells = counts.support_cells
    hidden_support = suppress(
        support_cells,
        table_equations(weeks, SUPPORT_COLUMNS),
        protect=cumulative_cells_to_protect(support_cells, weeks, SUPPORT_COLUMNS),
    )
    result = []
    for week in (*weeks, ALL_WEEKS):
        reached_contacts = (week, "reached")
        median: Figure = None
        if reached_contacts in hidden_contacts or 0 < len(hours[week]) < 5:
            median = SUPPRESSED if hours[week] else None
        elif hours[week]:
            median = round(statistics.median(hours[week]), 1)
        result.append(
            WeeklyRow(
                week=week,
                week_starts_on=None if week == ALL_WEEKS else _week_start(week),
                cases_transferred=_shown(case_cells, hidden_cases, (week, "transferred")),
                cases_reached=_shown(case_cells, hidden_cases, (week, "reached")),
                cases_reached_percent=_percent(
                    case_cells, hidden_cases, (week, "reached"), (week, "transferred")
                ),
                cases_reached_within_24h=_shown(
                    case_cells, hidden_cases, (week, "reached_within_24h")
                ),
                cases_reached_within_24h_percent=_percent(
                    case_cells, hidden_cases, (week, "reached_within_24h"), (week, "transferred")
                ),
                contacts_identified=_shown(contact_cells, hidden_contacts, (week, "identified")),
                contacts_reached=_shown(contact_cells, hidden_contacts, reached_contacts),
                contacts_reached_percent=_percent(
                    contact_cells, hidden_contacts, reached_contacts, (week, "identified")
                ),
                contacts_median_hours_to_reach=median,
                support_applications=_shown(support_cells, hidden_support, (week, "applications")),
                support_payments=_shown(support_cells, hidden_support, (week, "paid")),
            )
        )
    return result
