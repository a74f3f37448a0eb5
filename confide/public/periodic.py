"""Cases who have not finished giving their contacts online within the self-service window
(CONFIDE_SELF_SERVICE_HOURS, 24 by default) go to the tracers' queue; the worker's ticker runs
this every few minutes (confide/schedule.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from confide.cases.models import CaseStatus
from confide.public.links import self_service_window
from confide.public.models import CaseDraft, LinkKind, SelfServiceLink, VerificationCode
from confide.workqueue.models import WorkItem, WorkKind, WorkState
from confide.workqueue.services import enqueue_case_interview

UNFINISHED_REASON = "did not finish giving contacts online"


def queue_unfinished_cases(*, now: datetime | None = None) -> int:
    """Put each case whose link is older than the window, and not submitted, in front of a
    tracer now. Idempotent: each link is handled once, and an interview is queued at most once."""
    now = now or timezone.now()
    due = (
        SelfServiceLink.objects.filter(
            kind=LinkKind.CASE,
            created_at__lte=now - self_service_window(),
            spent_at__isnull=True,
            tracer_queued_at__isnull=True,
            revoked_at__isnull=True,
        )
        .exclude(case__status=CaseStatus.CLOSED)
        .select_related("case")
        .order_by("pk")
    )
    queued = 0
    for link in due.iterator(chunk_size=500):
        assert link.case is not None
        with transaction.atomic():
            claimed = SelfServiceLink.objects.filter(
                pk=link.pk, tracer_queued_at__isnull=True
            ).update(tracer_queued_at=now)
            if not claimed:
                continue  # another worker took it
            item = enqueue_case_interview(case=link.case, reason=UNFINISHED_REASON)
            WorkItem.objects.filter(
                pk=item.pk, kind=WorkKind.CASE_INTERVIEW, state=WorkState.WAITING
            ).update(available_at=now)
            queued += 1
    return queued


# Expired links are kept a week (so a late click still gets the clear "cannot be used" page
# rather than a puzzle), then deleted with their codes and drafts: well before the retention
# sweep (docs/dpo.md) anonymises the case or contact record they point to.
KEEP_EXPIRED_LINKS = timedelta(days=7)


def purge_finished_self_service(*, now: datetime | None = None) -> int:
    """Drop drafts and codes of links that can no longer be used, and links a week past
    expiry. Returns how many links were deleted."""
    now = now or timezone.now()
    finished = SelfServiceLink.objects.filter(
        Q(expires_at__lte=now)
        | Q(spent_at__isnull=False)
        | Q(revoked_at__isnull=False)
        | Q(locked_at__isnull=False)
    )
    with transaction.atomic():
        CaseDraft.objects.filter(link__in=finished).delete()
        VerificationCode.objects.filter(Q(link__in=finished) | Q(expires_at__lte=now)).delete()
        deleted, _ = SelfServiceLink.objects.filter(
            Q(expires_at__lte=now - KEEP_EXPIRED_LINKS)
            | Q(spent_at__lte=now - KEEP_EXPIRED_LINKS)
            | Q(revoked_at__lte=now - KEEP_EXPIRED_LINKS)
        ).delete()
    return deleted


def sweep_self_service(*, now: datetime | None = None) -> None:
    """The worker ticker's job for confide.public."""
    queue_unfinished_cases(now=now)
    purge_finished_self_service(now=now)
