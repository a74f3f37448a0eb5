"""Detectors that open breach entries automatically (`confide dpo detect`, and the worker's ticker).

Each detector looks only at evidence newer than what earlier entries for the same incident
already cover (`Breach.last_event_at`), and `record_incident` adds to the open entry for an
incident instead of opening another: running a detector again, or in two workers at once,
never makes a second entry for one incident. Thresholds are settings (confide/settings.py,
documented with their reasons in docs/dpo.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from confide.dpo.breaches import Incident, record_incident
from confide.dpo.models import Breach, BreachSource, DataCategory
from confide.messaging.models import BlockedSend
from confide.privacy.audit import verify_chain
from confide.privacy.models import AccessAction, AccessEvent
from confide.staff.models import ROLE_TIER, StaffMember


@dataclass(frozen=True)
class DetectorRun:
    detector: str
    opened: int = 0
    added_to: int = 0


def _covered_until(source: str, incident_key: str) -> datetime | None:
    """The newest evidence any entry for this incident (open or closed) already accounts for."""
    return Breach.objects.filter(source=source, incident_key=incident_key).aggregate(
        latest=Max("last_event_at")
    )["latest"]


def _has_open(source: str, incident_key: str) -> bool:
    return Breach.objects.filter(source=source, incident_key=incident_key, status="open").exists()


def _tally(source: str, results: list[bool]) -> DetectorRun:
    return DetectorRun(source, opened=sum(results), added_to=len(results) - sum(results))


def _minutes(name: str) -> timedelta:
    return timedelta(minutes=getattr(settings, name))


# --- blocked multi-recipient sends ---------------------------------------------------------------


def detect_blocked_sends(*, now: datetime) -> DetectorRun:
    """One incident per channel and code path: a bug that keeps trying to send one message to
    many people is one incident however often it tries."""
    results = []
    paths = BlockedSend.objects.values_list("channel", "origin").distinct()
    for channel, origin in paths:
        key = f"{channel}:{origin}"[:200]
        covered = _covered_until(BreachSource.BLOCKED_SEND, key)
        new = BlockedSend.objects.filter(channel=channel, origin=origin, at__lte=now)
        if covered is not None:
            new = new.filter(at__gt=covered)
        found = new.aggregate(
            count=Count("pk"), people=Sum("recipient_count"), first=Min("at"), last=Max("at")
        )
        if not found["count"]:
            continue
        _, opened = record_incident(
            Incident(
                source=BreachSource.BLOCKED_SEND,
                incident_key=key,
                summary=f"A {channel} to several recipients was blocked ({channel} from {origin})"[
                    :200
                ],
                facts=(
                    f"Confide refused to send a {channel} addressed to more than one recipient. "
                    f"The attempt came from {origin}. The message was not sent: this is a near "
                    "miss to investigate, and a breach only if something else sent it."
                ),
                data_categories=(DataCategory.CONTACT,),
                likely_consequences="None if nothing was sent; the recipients' addresses would "
                "have been shown to one another.",
                first_event_at=found["first"],
                last_event_at=found["last"],
                event_count=found["count"],
                approximate_people=found["people"],
                approximate_records=found["count"],
            )
        )
        results.append(opened)
    return _tally(BreachSource.BLOCKED_SEND, results)


# --- staff viewing or exporting many people ------------------------------------------------------


def _people_touched_by(
    *,
    source: str,
    actions: tuple[str, ...],
    window: timedelta,
    threshold: int,
    now: datetime,
    describe: Callable[[int, timedelta], tuple[str, str]],
    categories: tuple[str, ...],
    consequences: str,
    subjects_for: Callable[[uuid.UUID], Q] | None = None,
) -> DetectorRun:
    """An incident per member of staff whose events in the window (not yet covered) name at
    least `threshold` different people; while an entry is open, any new such event adds to it."""
    recent = AccessEvent.objects.filter(
        at__gt=now - window,
        at__lte=now,
        action__in=actions,
        actor_reference__isnull=False,
        subject_reference__isnull=False,
    )
    actors = recent.values_list("actor_reference", flat=True).distinct()
    results = []
    for actor in actors:
        if actor is None:
            continue
        key = str(actor)
        covered = _covered_until(source, key)
        events = recent.filter(actor_reference=actor)
        if covered is not None:
            events = events.filter(at__gt=covered)
        if subjects_for is not None:
            events = events.filter(subjects_for(actor))
        found = events.aggregate(
            count=Count("pk"),
            people=Count("subject_reference", distinct=True),
            first=Min("at"),
            last=Max("at"),
        )
        needed = 1 if _has_open(source, key) else threshold
        if not found["count"] or found["people"] < needed:
            continue
        summary, facts = describe(found["people"], window)
        _, opened = record_incident(
            Incident(
                source=source,
                incident_key=key,
                summary=summary,
                facts=f"{facts} Staff reference: {actor}.",
                data_categories=categories,
                likely_consequences=consequences,
                first_event_at=found["first"],
                last_event_at=found["last"],
                event_count=found["count"],
                approximate_people=found["people"],
                approximate_records=found["count"],
            )
        )
        results.append(opened)
    return _tally(source, results)


def detect_mass_viewing(*, now: datetime) -> DetectorRun:
    return _people_touched_by(
        source=BreachSource.MASS_VIEWING,
        actions=(AccessAction.VIEW,),
        window=_minutes("CONFIDE_DPO_VIEWING_WINDOW_MINUTES"),
        threshold=settings.CONFIDE_DPO_MASS_VIEWING_PEOPLE,
        now=now,
        describe=lambda people, window: (
            "A member of staff viewed unusually many people",
            f"A member of staff viewed the records of {people} different people within "
            f"{int(window.total_seconds() // 60)} minutes.",
        ),
        categories=(DataCategory.IDENTITY, DataCategory.CONTACT, DataCategory.LOCATION),
        consequences="If the viewing was not for their work, the people's identities, contact "
        "details and addresses were seen by someone with no need to see them.",
    )


def detect_bulk_exports(*, now: datetime) -> DetectorRun:
    """Any export of personal data must record one EXPORT access event per person exported
    (the hook: confide.privacy.audit.record_accesses with AccessAction.EXPORT)."""
    return _people_touched_by(
        source=BreachSource.BULK_EXPORT,
        actions=(AccessAction.EXPORT,),
        window=_minutes("CONFIDE_DPO_VIEWING_WINDOW_MINUTES"),
        threshold=settings.CONFIDE_DPO_BULK_EXPORT_PEOPLE,
        now=now,
        describe=lambda people, window: (
            "Personal data of many people was exported",
            f"A member of staff exported the records of {people} different people within "
            f"{int(window.total_seconds() // 60)} minutes.",
        ),
        categories=(DataCategory.IDENTITY, DataCategory.CONTACT, DataCategory.LOCATION),
        consequences="An export leaves Confide's controls: the copy may be kept, forwarded or "
        "lost.",
    )


def _not_assigned_to(actor: uuid.UUID) -> Q:
    """Access events about people who are not the actor's work: not the person of a case they
    hold or held, nor a contact named by such a case, nor a contact whose call they took."""
    from confide.cases.models import Case
    from confide.tracing.models import Exposure
    from confide.workqueue.models import WorkItem

    member = StaffMember.objects.filter(reference=actor).first()
    if member is None:
        return Q()
    # Each set from its own indexed lookup (cases by holder, work items by claimant, exposures
    # by case): an OR across a join made PostgreSQL read every case and exposure, for every
    # tracer, every five minutes (a core's worth of CPU at 10^6 cases in the load test).
    claimed = WorkItem.objects.filter(claimed_by=member)
    case_ids = set(Case.objects.filter(assigned_to=member).values_list("pk", flat=True))
    case_ids |= set(claimed.filter(case__isnull=False).values_list("case_id", flat=True))
    exposure_ids = set(claimed.filter(exposure__isnull=False).values_list("exposure_id", flat=True))
    own = set(Case.objects.filter(pk__in=case_ids).values_list("person__reference", flat=True))
    own |= set(
        Exposure.objects.filter(Q(case_id__in=case_ids) | Q(pk__in=exposure_ids)).values_list(
            "contact__reference", flat=True
        )
    )
    return ~Q(subject_reference__in=own)


def detect_unassigned_viewing(*, now: datetime) -> DetectorRun:
    """Only tracers (roles with a tier) are assigned people; supervisors and the DPO are not."""
    tracer_roles = [role for role, tier in ROLE_TIER.items() if tier is not None]
    tracers = set(
        StaffMember.objects.filter(role__in=tracer_roles).values_list("reference", flat=True)
    )

    def subjects_for(actor: uuid.UUID) -> Q:
        if actor not in tracers:
            return Q(pk__in=[])
        return _not_assigned_to(actor)

    return _people_touched_by(
        source=BreachSource.UNASSIGNED_VIEWING,
        actions=(AccessAction.VIEW,),
        window=timedelta(hours=settings.CONFIDE_DPO_UNASSIGNED_WINDOW_HOURS),
        threshold=settings.CONFIDE_DPO_UNASSIGNED_VIEWING_PEOPLE,
        now=now,
        subjects_for=subjects_for,
        describe=lambda people, window: (
            "A member of staff viewed people not assigned to them",
            f"A tracer viewed {people} people who were not assigned to them within "
            f"{int(window.total_seconds() // 3600)} hours.",
        ),
        categories=(DataCategory.IDENTITY, DataCategory.CONTACT, DataCategory.HEALTH),
        consequences="People's identities and health information were seen by a member of "
        "staff with no work reason to see them.",
    )


# --- failed sign-ins -----------------------------------------------------------------------------


FAILED_SIGN_IN_KEY = "sign-in"


def detect_failed_login_storm(*, now: datetime) -> DetectorRun:
    """django-axes keeps one AccessAttempt per account, source address and browser, stamped
    with its latest failure; failures counted are those of attempts that failed in the window."""
    source = BreachSource.FAILED_LOGIN_STORM
    since = now - _minutes("CONFIDE_DPO_FAILED_LOGIN_WINDOW_MINUTES")
    covered = _covered_until(source, FAILED_SIGN_IN_KEY)
    if covered is not None:
        since = max(since, covered)
    found = AccessAttempt.objects.filter(attempt_time__gt=since, attempt_time__lte=now).aggregate(
        failures=Sum("failures_since_start"),
        accounts=Count("username", distinct=True),
        first=Min("attempt_time"),
        last=Max("attempt_time"),
    )
    failures = found["failures"] or 0
    needed = 1 if _has_open(source, FAILED_SIGN_IN_KEY) else settings.CONFIDE_DPO_FAILED_LOGIN_STORM
    if failures < needed:
        return DetectorRun(source)
    _, opened = record_incident(
        Incident(
            source=source,
            incident_key=FAILED_SIGN_IN_KEY,
            summary="Many failed sign-ins in a short time",
            facts=f"{failures} failed sign-ins against {found['accounts']} accounts within "
            f"{settings.CONFIDE_DPO_FAILED_LOGIN_WINDOW_MINUTES} minutes: someone may be "
            "guessing passwords. Accounts are locked after 5 failures.",
            data_categories=(DataCategory.CREDENTIALS,),
            likely_consequences="If a password was guessed and the second factor also defeated, "
            "the account's access to personal data.",
            first_event_at=found["first"],
            last_event_at=found["last"],
            event_count=failures,
            approximate_people=found["accounts"],
        )
    )
    return _tally(source, [opened])


# --- the access log itself -----------------------------------------------------------------------


def detect_audit_chain_break(*, now: datetime) -> DetectorRun:
    """One entry per break found (where and why); a break already registered — open or closed by
    the DPO — is not registered again."""
    source = BreachSource.AUDIT_CHAIN
    problem = verify_chain()
    if problem is None:
        return DetectorRun(source)
    key = f"{problem.sequence}:{problem.reason}"[:200]
    if Breach.objects.filter(source=source, incident_key=key).exists():
        return DetectorRun(source)
    _, opened = record_incident(
        Incident(
            source=source,
            incident_key=key,
            summary="The access log failed verification",
            facts=f"`confide audit verify` found entry {problem.sequence} {problem.reason}. "
            "Someone with database access may have edited, deleted or reordered the record of "
            "who accessed personal data.",
            data_categories=(DataCategory.ACCESS_LOG,),
            likely_consequences="Access to personal data may have been hidden; the access "
            "log can no longer be relied on from this entry on.",
            first_event_at=now,
            last_event_at=now,
            event_count=1,
        )
    )
    return _tally(source, [opened])


FREQUENT_DETECTORS: tuple[Callable[..., DetectorRun], ...] = (
    detect_blocked_sends,
    detect_mass_viewing,
    detect_unassigned_viewing,
    detect_bulk_exports,
    detect_failed_login_storm,
)


def run_detectors(
    *, now: datetime | None = None, include_audit_chain: bool = True
) -> list[DetectorRun]:
    """Every detector once. The audit-chain check reads the whole log, so the ticker runs it
    hourly and the others every few minutes."""
    now = now or timezone.now()
    detectors = list(FREQUENT_DETECTORS)
    if include_audit_chain:
        detectors.append(detect_audit_chain_break)
    return [detector(now=now) for detector in detectors]
