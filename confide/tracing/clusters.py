"""Clusters: two or more cases at the same setting while infectious, sent to local health
protection (tier 1).

England 2020 (PHE, "COVID-19: epidemiological definitions of outbreaks and clusters in
particular settings"): a cluster is two or more confirmed cases associated with a setting
within 14 days. Here a case counts when it visited the setting on a day of its own
infectious period, and the cases' visits fall within one 14-day window. Households are left
out: a household with two cases is ordinary tracing work for tiers 2 and 3, not a cluster.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from confide.tracing.models import Setting, SettingKind, SettingVisit
from confide.workqueue.models import WorkItem, WorkKind, WorkState
from confide.workqueue.services import enqueue_setting_review

CLUSTER_WINDOW_DAYS = 14
CLUSTER_MIN_CASES = 2
_CLUSTER_REASON = re.compile(r"^cluster: (\d+) cases")


def cluster_reason(size: int) -> str:
    return f"cluster: {size} cases"


def cluster_case_ids(*, setting: Setting, around: date) -> set[int]:
    """The largest set of cases whose infectious visits to the setting fit in one 14-day
    window that includes `around` (the day of a visit just recorded, or today in a sweep)."""
    span = timedelta(days=CLUSTER_WINDOW_DAYS - 1)
    visits = list(
        SettingVisit.objects.filter(
            setting=setting,
            visited_on__gte=around - span,
            visited_on__lte=around + span,
        )
        .filter(
            visited_on__gte=F("case__infectious_from"),
            visited_on__lte=F("case__infectious_until"),
        )
        .values_list("visited_on", "case_id")
    )
    # Every window containing `around` ends between `around` and `around + span`; the
    # largest ends on `around` or on a visit day, so those are the only ends to try.
    ends = sorted({around} | {day for day, _ in visits if day > around})
    best: set[int] = set()
    for end in ends:
        cases = {case_id for day, case_id in visits if end - span <= day <= end}
        if len(cases) > len(best):
            best = cases
    return best


def _already_flagged(setting: Setting, size: int, since: date) -> bool:
    """A cluster review of this setting for as many cases (or more) was raised recently."""
    reasons = WorkItem.objects.filter(
        kind=WorkKind.SETTING_REVIEW,
        setting=setting,
        created_at__date__gte=since,
    ).exclude(state=WorkState.CANCELLED)
    for reason in reasons.values_list("reason", flat=True):
        match = _CLUSTER_REASON.match(reason)
        if match and int(match.group(1)) >= size:
            return True
    return False


def flag_cluster_at(*, setting: Setting, around: date) -> WorkItem | None:
    """Queue a tier-1 review if the setting has a cluster around this day.

    The same cases never raise a second review; a new case joining the cluster does. An
    open review of the setting (say, for a care-home visit) takes the cluster reason.
    """
    if setting.kind == SettingKind.HOUSEHOLD:
        return None
    size = len(cluster_case_ids(setting=setting, around=around))
    if size < CLUSTER_MIN_CASES:
        return None
    since = around - timedelta(days=CLUSTER_WINDOW_DAYS)
    with transaction.atomic():
        if _already_flagged(setting, size, since):
            return None
        item = enqueue_setting_review(setting=setting, reason=cluster_reason(size))
        if item.reason != cluster_reason(size):
            item.reason = cluster_reason(size)
            item.save(update_fields=["reason"])
    return item


def flag_clusters(*, setting: Setting | None = None, around: date | None = None) -> list[WorkItem]:
    """Find clusters and queue their tier-1 reviews: at one setting (when a visit is
    recorded), or at every setting visited in the last 14 days (a sweep, e.g. after an
    import or from the demo)."""
    around = around or timezone.localdate()
    if setting is not None:
        settings = [setting]
    else:
        since = around - timedelta(days=CLUSTER_WINDOW_DAYS - 1)
        settings = list(
            Setting.objects.exclude(kind=SettingKind.HOUSEHOLD)
            .filter(visits__visited_on__gte=since, visits__visited_on__lte=around)
            .distinct()
            .order_by("pk")
        )
    flagged = []
    for place in settings:
        item = flag_cluster_at(setting=place, around=around)
        if item is not None:
            flagged.append(item)
    return flagged
