"""Work queues: enqueue, claim the next item atomically, record calls, complete, escalate.

`claim_next` is the heart: on PostgreSQL it takes the first waiting item with
`SELECT ... FOR UPDATE SKIP LOCKED`, so under any concurrency no two tracers get the same item;
on SQLite the IMMEDIATE transaction serialises claims for the same guarantee. An item claimed
and left untouched longer than the claim timeout is offered again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from confide.cases.models import Case, CaseStatus
from confide.cases.services import transition_case
from confide.staff.models import Role, StaffMember, Tier
from confide.tracing.models import Exposure, NotificationState, Setting
from confide.workqueue.models import (
    RETRYABLE_OUTCOMES,
    CallAttempt,
    CallOutcome,
    WorkItem,
    WorkKind,
    WorkState,
)

PRIORITY_URGENT = 10  # tier-1 settings: care homes, schools, prisons, healthcare
PRIORITY_NORMAL = 50


def claim_timeout() -> timedelta:
    return timedelta(minutes=settings.CONFIDE_CLAIM_TIMEOUT_MINUTES)


def _enqueue(*, kind: str, tier: int, priority: int, reason: str, **subject: object) -> WorkItem:
    """The open item for this subject and kind, creating it if there is none. Two enqueues at
    once meet the partial unique constraint; the loser returns the winner's item."""
    open_states = [WorkState.WAITING, WorkState.CLAIMED]
    existing = WorkItem.objects.filter(kind=kind, state__in=open_states, **subject).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            item = _new_item(kind=kind, tier=tier, priority=priority, reason=reason, **subject)
            item.save(force_insert=True)
            return item
    except IntegrityError:
        return WorkItem.objects.get(kind=kind, state__in=open_states, **subject)


def _new_item(*, kind: str, tier: int, priority: int, reason: str, **subject: object) -> WorkItem:
    return WorkItem(
        kind=kind,
        tier=tier,
        priority=priority,
        reason=reason[:200],
        available_at=timezone.now(),
        **subject,
    )


def enqueue_case_interviews(*, cases: Sequence[Case], reason: str = "") -> int:
    """Put many cases in their tiers' queues in one insert, each at most once like
    `enqueue_case_interview`: a case with an open item keeps it. Returns how many were asked
    for (a case that already had an open item counts, though it gains no second one)."""
    return enqueue_case_interviews_by_id(
        case_tiers=[(case.pk, case.tier) for case in cases], reason=reason
    )


def enqueue_case_interviews_by_id(
    *,
    case_tiers: Sequence[tuple[int, int]],
    reason: str = "",
    held_until: Mapping[int, datetime] | None = None,
) -> int:
    """`enqueue_case_interviews` for (case id, tier) pairs (imports): one INSERT ... ON
    CONFLICT DO NOTHING, the partial unique constraint keeping one open item per case.
    `held_until`: cases whose interview waits until then (a new case's self-service window),
    so an import need not update the items it has just written."""
    from confide.bulk import insert_rows

    now = timezone.now()
    held = held_until or {}
    rows = [
        {
            "kind": WorkKind.CASE_INTERVIEW.value,
            "tier": int(tier),
            "priority": PRIORITY_NORMAL,
            "reason": reason[:200],
            "case_id": case_id,
            "available_at": held.get(case_id, now),
        }
        for case_id, tier in case_tiers
    ]
    with transaction.atomic():
        return len(insert_rows(WorkItem, rows, ignore_conflicts=True))


def cancel_case_interview(*, case: Case) -> int:
    """Take a case's open interview out of the queue (the case was closed before anyone
    worked it). Returns how many items were cancelled."""
    return WorkItem.objects.filter(
        kind=WorkKind.CASE_INTERVIEW,
        case=case,
        state__in=[WorkState.WAITING, WorkState.CLAIMED],
    ).update(state=WorkState.CANCELLED, completed_at=timezone.now())


def enqueue_case_interview(
    *, case: Case, tier: int | None = None, priority: int = PRIORITY_NORMAL, reason: str = ""
) -> WorkItem:
    """Put a case in its tier's queue (once: an open item for the case is returned as is)."""
    return _enqueue(
        kind=WorkKind.CASE_INTERVIEW,
        tier=tier or case.tier,
        priority=priority,
        reason=reason,
        case=case,
    )


def enqueue_contact_call(*, exposure: Exposure, reason: str) -> WorkItem:
    """Ask a call handler (tier 3) to phone a contact we could not notify in writing."""
    return _enqueue(
        kind=WorkKind.CONTACT_CALL,
        tier=Tier.CALL_HANDLING,
        priority=PRIORITY_NORMAL,
        reason=reason,
        exposure=exposure,
    )


def enqueue_contact_work(
    *, exposure: Exposure, kind: str, tier: int, reason: str, priority: int = PRIORITY_NORMAL
) -> WorkItem:
    """Work about a contact in isolation that a daily follow-up raised (symptoms to a
    clinician, support to a call handler); once per contact and kind while it is open."""
    return _enqueue(kind=kind, tier=tier, priority=priority, reason=reason, exposure=exposure)


def enqueue_setting_review(*, setting: Setting, reason: str) -> WorkItem:
    """A setting or cluster for local health protection (tier 1)."""
    return _enqueue(
        kind=WorkKind.SETTING_REVIEW,
        tier=Tier.LOCAL_HEALTH_PROTECTION,
        priority=PRIORITY_URGENT,
        reason=reason,
        setting=setting,
    )


def current_claim(tracer: StaffMember, *, now: datetime | None = None) -> WorkItem | None:
    """The item this tracer holds (claimed, not timed out), if any."""
    now = now or timezone.now()
    return (
        WorkItem.objects.filter(
            state=WorkState.CLAIMED, claimed_by=tracer, claimed_at__gte=now - claim_timeout()
        )
        .order_by("claimed_at")
        .first()
    )


QUEUE_ORDER = ("priority", "available_at", "pk")


def _queue_position(item: WorkItem) -> tuple[int, datetime, int]:
    return (item.priority, item.available_at, item.pk)


def _first_claimable(tier: int, now: datetime, kind: str | None) -> WorkItem | None:
    """The first claimable item in queue order, locked (SKIP LOCKED) for this transaction.

    Waiting items and timed-out claims are looked up apart: each query then has an index
    that yields rows in queue order (`workitem_waiting*` for the waiting, `workitem_claim_age`
    for the few stale claims), so the first row is read without sorting the whole queue,
    which an OR of the two would make PostgreSQL do (a sort of every waiting item of the
    tier on every claim). The earlier of the two candidates is taken; the other stays
    locked only until this transaction ends, and a concurrent claimer skips past it. The
    case comes in the same query; only the item's row is locked here (PostgreSQL cannot lock
    the nullable side of the join, and the case is locked by its transition)."""
    scope: dict[str, object] = {"tier": tier, "available_at__lte": now}
    if kind is not None:
        scope["kind"] = kind
    candidates = [
        item
        for item in (
            WorkItem.objects.filter(state=WorkState.WAITING, **scope)
            .select_related("case")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by(*QUEUE_ORDER)
            .first(),
            WorkItem.objects.filter(
                state=WorkState.CLAIMED, claimed_at__lt=now - claim_timeout(), **scope
            )
            .select_related("case")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by(*QUEUE_ORDER)
            .first(),
        )
        if item is not None
    ]
    return min(candidates, key=_queue_position, default=None)


def _assign_case(
    case: Case, tracer: StaffMember, *, reclaimed: bool, assigned_by: StaffMember | None = None
) -> None:
    if case.status in (CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS):
        # The previous tracer's claim timed out: back to the queue, then to this tracer.
        transition_case(case=case, to=CaseStatus.NEW, by=None, reason="claim timed out")
        case.refresh_from_db()
    if case.status in (CaseStatus.NEW, CaseStatus.ESCALATED, CaseStatus.UNREACHABLE):
        transition_case(
            case=case,
            to=CaseStatus.ASSIGNED,
            by=assigned_by or tracer,
            assign_to=tracer,
            reason="reassigned by a supervisor"
            if assigned_by
            else "claimed from the queue" + (" after a timed-out claim" if reclaimed else ""),
        )


def claim_next(
    *, tracer: StaffMember, now: datetime | None = None, kind: str | None = None
) -> WorkItem | None:
    """Give the tracer the next item of their tier (of `kind`, if given), or the one they
    already hold.

    Exactly one tracer gets each item, whatever the concurrency.
    """
    now = now or timezone.now()
    if tracer.tier is None:
        raise PermissionDenied("Only tracers in a tier take work from the queues.")
    held = current_claim(tracer, now=now)
    if held is not None:
        return held
    with transaction.atomic():
        item = _first_claimable(tracer.tier, now, kind)
        if item is None:
            return None
        reclaimed = item.state == WorkState.CLAIMED
        item.state = WorkState.CLAIMED
        item.claimed_by = tracer
        item.claimed_at = now
        item.save(update_fields=["state", "claimed_by", "claimed_at"])
        if item.case_id is not None:
            assert item.case is not None
            _assign_case(item.case, tracer, reclaimed=reclaimed)
    return item


def _require_holder(item: WorkItem, by: StaffMember) -> None:
    if item.state != WorkState.CLAIMED or item.claimed_by_id != by.pk:
        raise PermissionDenied("Only the tracer holding this item can act on it.")


def retry_spacing(item: WorkItem) -> timedelta:
    """Spread the policy's attempts over its window (England 2020: 10 attempts in 72 hours)."""
    policy = item.case.policy if item.case else item.exposure.policy  # type: ignore[union-attr]
    return timedelta(hours=policy.call_attempt_window_hours) / policy.max_call_attempts


def record_call(
    *, item: WorkItem, outcome: str, by: StaffMember, now: datetime | None = None
) -> CallAttempt:
    """Log a call; reschedule, give up as unreachable, or carry on with the interview."""
    now = now or timezone.now()
    if outcome not in CallOutcome.values:
        raise ValidationError({"outcome": ["Choose what happened on the call"]})
    with transaction.atomic():
        # Lock the item's row only: PostgreSQL cannot lock the nullable side of the outer
        # join select_related makes (a contact call or a setting review has no case).
        item = (
            WorkItem.objects.select_for_update(of=("self",))
            .select_related("case__policy")
            .get(pk=item.pk)
        )
        _require_holder(item, by)
        attempt = CallAttempt.objects.create(work_item=item, outcome=outcome, by=by)
        item.attempts += 1
        case = item.case
        if outcome == CallOutcome.COMPLETED:
            item.claimed_at = now  # the tracer is working on it: the claim timeout starts again
            item.save(update_fields=["attempts", "claimed_at"])
            if case is not None and case.status == CaseStatus.ASSIGNED:
                transition_case(case=case, to=CaseStatus.IN_PROGRESS, by=by, reason="call answered")
            return attempt
        policy = case.policy if case else item.exposure.policy  # type: ignore[union-attr]
        window_over = now - item.created_at >= timedelta(hours=policy.call_attempt_window_hours)
        if (
            outcome in RETRYABLE_OUTCOMES
            and item.attempts < policy.max_call_attempts
            and not window_over
        ):
            item.state = WorkState.WAITING
            item.claimed_by = None
            item.claimed_at = None
            item.available_at = now + retry_spacing(item)
            item.save(
                update_fields=["attempts", "state", "claimed_by", "claimed_at", "available_at"]
            )
            if case is not None:
                transition_case(case=case, to=CaseStatus.NEW, by=by, reason=f"call: {outcome}")
            return attempt
        item.state = WorkState.DONE
        item.completed_at = now
        item.save(update_fields=["attempts", "state", "completed_at"])
        if case is not None:
            if outcome == CallOutcome.REFUSED:
                if case.status == CaseStatus.ASSIGNED:
                    transition_case(case=case, to=CaseStatus.IN_PROGRESS, by=by, reason="refused")
                transition_case(
                    case=case,
                    to=CaseStatus.COMPLETED,
                    by=by,
                    reason="refused",
                    outcome="Refused to take part",
                )
            else:
                transition_case(
                    case=case, to=CaseStatus.UNREACHABLE, by=by, reason=f"call: {outcome}"
                )
    return attempt


def complete_item(*, item: WorkItem, by: StaffMember, outcome: str = "") -> WorkItem:
    """Finish an item; a case interview completes the case."""
    with transaction.atomic():
        item = (
            WorkItem.objects.select_for_update(of=("self",)).select_related("case").get(pk=item.pk)
        )
        _require_holder(item, by)
        item.state = WorkState.DONE
        item.completed_at = timezone.now()
        item.save(update_fields=["state", "completed_at"])
        case = item.case
        if case is not None:
            if case.status == CaseStatus.ASSIGNED:
                transition_case(case=case, to=CaseStatus.IN_PROGRESS, by=by)
                case.refresh_from_db()
            transition_case(
                case=case,
                to=CaseStatus.COMPLETED,
                by=by,
                reason="interview done",
                outcome=outcome,
            )
    return item


def release_item(*, item: WorkItem, by: StaffMember) -> WorkItem:
    """Hand an item back to the queue untouched."""
    with transaction.atomic():
        item = (
            WorkItem.objects.select_for_update(of=("self",)).select_related("case").get(pk=item.pk)
        )
        if item.claimed_by_id != by.pk and by.role != Role.SUPERVISOR:
            raise PermissionDenied("Only the holder or a supervisor can release an item.")
        if item.state not in (WorkState.WAITING, WorkState.CLAIMED):
            raise PermissionDenied("A finished item cannot go back to the queue.")
        item.state = WorkState.WAITING
        item.claimed_by = None
        item.claimed_at = None
        item.save(update_fields=["state", "claimed_by", "claimed_at"])
        if item.case is not None and item.case.status in (
            CaseStatus.ASSIGNED,
            CaseStatus.IN_PROGRESS,
        ):
            transition_case(case=item.case, to=CaseStatus.NEW, by=by, reason="released")
    return item


def reassign_item(*, item: WorkItem, to: StaffMember, by: StaffMember) -> WorkItem:
    """A supervisor gives an item to a named tracer of the right tier."""
    if by.role != Role.SUPERVISOR:
        raise PermissionDenied("Only supervisors reassign work.")
    if to.tier != item.tier:
        raise ValidationError({"to": ["Choose a tracer who works in this item's tier"]})
    with transaction.atomic():
        item = release_item(item=item, by=by)
        item.state = WorkState.CLAIMED
        item.claimed_by = to
        item.claimed_at = timezone.now()
        item.save(update_fields=["state", "claimed_by", "claimed_at"])
        if item.case is not None:
            item.case.refresh_from_db()
            _assign_case(item.case, to, reclaimed=False, assigned_by=by)
    return item


def escalate_case(*, case: Case, to_tier: int, reason: str, by: StaffMember | None) -> WorkItem:
    """Move a case to another tier's queue with a recorded reason."""
    if to_tier not in Tier.values:
        raise ValidationError({"to_tier": ["Choose a tier"]})
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the case is being escalated"]})
    with transaction.atomic():
        WorkItem.objects.filter(
            kind=WorkKind.CASE_INTERVIEW,
            case=case,
            state__in=[WorkState.WAITING, WorkState.CLAIMED],
        ).update(state=WorkState.CANCELLED, completed_at=timezone.now())
        case.refresh_from_db()
        if case.status != CaseStatus.ESCALATED:
            transition_case(case=case, to=CaseStatus.ESCALATED, by=by, reason=reason[:300])
        Case.objects.filter(pk=case.pk).update(tier=to_tier)
        case.refresh_from_db()
        return enqueue_case_interview(
            case=case, tier=to_tier, priority=PRIORITY_URGENT, reason=reason[:200]
        )


def enqueue_open_cases(*, now: datetime | None = None) -> int:
    """Queue an interview for every new or escalated case that has no open one (cases loaded
    in bulk, by the demo or an import, bypass `enqueue_case_interview`). Returns how many."""
    now = now or timezone.now()
    open_interview = WorkItem.objects.filter(
        kind=WorkKind.CASE_INTERVIEW,
        case=OuterRef("pk"),
        state__in=[WorkState.WAITING, WorkState.CLAIMED],
    )
    cases = (
        Case.objects.filter(status__in=[CaseStatus.NEW, CaseStatus.ESCALATED])
        .exclude(Exists(open_interview))
        .order_by("pk")
        .values_list("pk", "tier", "status")
    )
    created = 0
    batch: list[WorkItem] = []
    for pk, tier, status in cases.iterator(chunk_size=1000):
        escalated = status == CaseStatus.ESCALATED
        batch.append(
            WorkItem(
                kind=WorkKind.CASE_INTERVIEW,
                tier=tier,
                priority=PRIORITY_URGENT if escalated else PRIORITY_NORMAL,
                case_id=pk,
                reason="escalated" if escalated else "",
                available_at=now,
            )
        )
        if len(batch) == 1000:
            created += len(WorkItem.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    if batch:
        created += len(WorkItem.objects.bulk_create(batch, ignore_conflicts=True))
    return created


def complete_contact_call(*, item: WorkItem, by: StaffMember) -> WorkItem:
    """Finish a call to a contact; if someone spoke to them, they have been told to isolate,
    so their exposure counts as notified (by phone) and stops showing as failed."""
    with transaction.atomic():
        item = complete_item(item=item, by=by)
        if (
            item.exposure_id is not None
            and item.calls.filter(outcome=CallOutcome.COMPLETED).exists()
        ):
            Exposure.objects.filter(pk=item.exposure_id).update(
                notification_state=NotificationState.SENT
            )
    return item
