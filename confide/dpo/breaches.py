"""Writes to the breach register. Every change is recorded as a BreachChange (who, when, what)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from confide.dpo.models import Breach, BreachChange, BreachSource, BreachStatus, DataCategory
from confide.dpo.models import Decision as D
from confide.staff.models import StaffMember

# What the DPO may change on an entry (the detector's evidence fields are Confide's own).
EDITABLE_FIELDS = (
    "summary",
    "became_aware_at",
    "facts",
    "data_categories",
    "approximate_people",
    "approximate_records",
    "likely_consequences",
    "measures_taken",
    "measures_proposed",
    "report_to_ico",
    "report_to_ico_reason",
    "reported_to_ico_at",
    "ico_reference",
    "tell_people",
    "tell_people_reason",
    "people_told_at",
)


def _as_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _record_change(
    breach: Breach,
    *,
    by: StaffMember | None,
    description: str,
    changes: dict[str, list[Any]] | None = None,
) -> BreachChange:
    return BreachChange.objects.create(
        breach=breach,
        by_reference=by.reference if by else None,
        description=description,
        changes=changes or {},
    )


def _validate(breach: Breach) -> None:
    errors: dict[str, list[str]] = {}
    if not breach.summary.strip():
        errors["summary"] = ["Give the breach a short summary"]
    unknown = set(breach.data_categories) - set(DataCategory.values)
    if unknown:
        errors["data_categories"] = ["Choose categories from the list"]
    if breach.report_to_ico != D.UNDECIDED and not breach.report_to_ico_reason.strip():
        errors["report_to_ico_reason"] = ["Say why you decided this about reporting to the ICO"]
    if breach.reported_to_ico_at and breach.report_to_ico != D.YES:
        errors["reported_to_ico_at"] = ["Only a breach you decided to report can be reported"]
    if breach.tell_people != D.UNDECIDED and not breach.tell_people_reason.strip():
        errors["tell_people_reason"] = ["Say why you decided this about telling the people"]
    if breach.people_told_at and breach.tell_people != D.YES:
        errors["people_told_at"] = ["Only people you decided to tell can have been told"]
    if breach.became_aware_at and breach.became_aware_at > timezone.now():
        errors["became_aware_at"] = ["The time you became aware must be in the past"]
    if errors:
        raise ValidationError(errors)


def open_breach(
    *, summary: str, became_aware_at: datetime, by: StaffMember | None, **fields: Any
) -> Breach:
    """A breach recorded by hand (by the DPO)."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    breach = Breach(
        summary=summary.strip(),
        became_aware_at=became_aware_at,
        source=BreachSource.MANUAL,
        **fields,
    )
    _validate(breach)
    with transaction.atomic():
        breach.save()
        _record_change(breach, by=by, description="Recorded")
    return breach


def update_breach(*, breach: Breach, by: StaffMember, **changes: Any) -> Breach:
    """Change what the DPO knows or decided; records the before and after of each field."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        current = Breach.objects.select_for_update().get(pk=breach.pk)
        if current.status == BreachStatus.CLOSED:
            raise ValidationError(
                {"summary": ["This breach is closed; reopen it by recording a new one"]}
            )
        diff = {
            name: [_as_json(getattr(current, name)), _as_json(value)]
            for name, value in changes.items()
            if getattr(current, name) != value
        }
        for name, value in changes.items():
            setattr(current, name, value)
        _validate(current)
        if diff:
            current.save(update_fields=list(diff))
            _record_change(current, by=by, description="Changed", changes=diff)
    return current


def close_breach(*, breach: Breach, by: StaffMember) -> Breach:
    """Close an entry once both decisions (ICO, the people affected) are recorded."""
    with transaction.atomic():
        current = Breach.objects.select_for_update().get(pk=breach.pk)
        if current.status == BreachStatus.CLOSED:
            return current
        errors: dict[str, list[str]] = {}
        if current.report_to_ico == D.UNDECIDED:
            errors["report_to_ico"] = ["Decide whether to report this to the ICO before closing"]
        if current.tell_people == D.UNDECIDED:
            errors["tell_people"] = ["Decide whether to tell the people affected before closing"]
        if errors:
            raise ValidationError(errors)
        current.status = BreachStatus.CLOSED
        current.closed_at = timezone.now()
        current.save(update_fields=["status", "closed_at"])
        _record_change(
            current,
            by=by,
            description="Closed",
            changes={"status": [BreachStatus.OPEN, BreachStatus.CLOSED]},
        )
    return current


@dataclass(frozen=True)
class Incident:
    """What a detector found: new evidence for one incident, described without personal data."""

    source: str
    incident_key: str
    summary: str
    facts: str
    data_categories: tuple[str, ...]
    likely_consequences: str
    first_event_at: datetime
    last_event_at: datetime
    event_count: int
    approximate_people: int | None = None
    approximate_records: int | None = None


def record_incident(incident: Incident) -> tuple[Breach, bool]:
    """Open an entry for the incident, or add the new evidence to the one already open.

    Returns the entry and whether it was opened now. The partial unique constraint makes two
    detectors racing on the same incident end with one entry: the loser adds to the winner's.
    """
    for _ in range(2):
        try:
            return _record_incident_once(incident)
        except IntegrityError:
            continue  # another process opened it between our read and our insert
    return _record_incident_once(incident)


def _record_incident_once(incident: Incident) -> tuple[Breach, bool]:
    with transaction.atomic():
        existing = (
            Breach.objects.select_for_update()
            .filter(
                source=incident.source,
                incident_key=incident.incident_key,
                status=BreachStatus.OPEN,
            )
            .first()
        )
        if existing is None:
            now = timezone.now()
            breach = Breach.objects.create(
                summary=incident.summary,
                source=incident.source,
                incident_key=incident.incident_key,
                became_aware_at=now,
                facts=incident.facts,
                data_categories=list(incident.data_categories),
                likely_consequences=incident.likely_consequences,
                approximate_people=incident.approximate_people,
                approximate_records=incident.approximate_records,
                first_event_at=incident.first_event_at,
                last_event_at=incident.last_event_at,
                event_count=incident.event_count,
            )
            _record_change(breach, by=None, description="Opened by a detector")
            return breach, True
        before = {
            "event_count": existing.event_count,
            "last_event_at": _as_json(existing.last_event_at),
            "approximate_people": existing.approximate_people,
            "approximate_records": existing.approximate_records,
        }
        existing.event_count += incident.event_count
        existing.last_event_at = max(
            incident.last_event_at, existing.last_event_at or incident.last_event_at
        )
        for name in ("approximate_people", "approximate_records"):
            found = getattr(incident, name)
            if found is not None:
                setattr(existing, name, max(found, getattr(existing, name) or 0))
        existing.save(
            update_fields=[
                "event_count",
                "last_event_at",
                "approximate_people",
                "approximate_records",
            ]
        )
        after = {name: _as_json(getattr(existing, name)) for name in before}
        _record_change(
            existing,
            by=None,
            description="A detector found more evidence",
            changes={
                name: [before[name], after[name]] for name in before if before[name] != after[name]
            },
        )
        return existing, False
