from __future__ import annotations

from django.db import models

from confide.cases.models import Case
from confide.staff.models import StaffMember, Tier
from confide.tracing.models import Exposure, FollowUp, Setting


class WorkKind(models.TextChoices):
    CASE_INTERVIEW = "case_interview", "Interview a case"
    CONTACT_CALL = "contact_call", "Call a contact"
    SETTING_REVIEW = "setting_review", "Review a setting or cluster"
    FOLLOW_UP = "follow_up", "Daily follow-up call"
    CONTACT_SYMPTOMS = "contact_symptoms", "Call a contact who has symptoms"
    SUPPORT_REFERRAL = "support_referral", "Refer a contact to local support"


# Calls to a contact about their own isolation: the contact-call page serves them all.
CONTACT_CALL_KINDS = frozenset(
    {WorkKind.CONTACT_CALL, WorkKind.CONTACT_SYMPTOMS, WorkKind.SUPPORT_REFERRAL}
)


class WorkState(models.TextChoices):
    WAITING = "waiting", "Waiting"
    CLAIMED = "claimed", "With a tracer"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class WorkItem(models.Model):
    """One piece of work in a tier's queue. `claim_next` gives it to exactly one tracer."""

    kind = models.CharField(max_length=16, choices=WorkKind.choices)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices)
    priority = models.PositiveSmallIntegerField(default=50, help_text="lower goes first")
    state = models.CharField(max_length=10, choices=WorkState.choices, default=WorkState.WAITING)
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="work_items"
    )
    exposure = models.ForeignKey(
        Exposure, on_delete=models.CASCADE, null=True, blank=True, related_name="work_items"
    )
    setting = models.ForeignKey(
        Setting, on_delete=models.CASCADE, null=True, blank=True, related_name="work_items"
    )
    reason = models.CharField(max_length=200, blank=True)
    # The day's check a follow-up item is for (its subject is still the exposure).
    follow_up = models.ForeignKey(
        FollowUp, on_delete=models.CASCADE, null=True, blank=True, related_name="work_items"
    )
    available_at = models.DateTimeField(help_text="not offered before this (retry schedule)")
    claimed_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="work_items"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["tier", "state", "priority", "available_at"], name="workitem_queue"
            ),
            # Claiming: the waiting items of a tier (of a kind) in queue order, so the first
            # is read from the index without sorting the queue. Partial: only waiting items,
            # never the millions already done.
            models.Index(
                fields=["tier", "priority", "available_at", "id"],
                condition=models.Q(state="waiting"),
                name="workitem_waiting",
            ),
            models.Index(
                fields=["tier", "kind", "priority", "available_at", "id"],
                condition=models.Q(state="waiting"),
                name="workitem_waiting_kind",
            ),
            models.Index(fields=["claimed_by", "state"], name="workitem_claimed_by"),
            models.Index(fields=["state", "claimed_at"], name="workitem_claim_age"),
            # Dashboards count what was finished in the last day without reading the rest.
            models.Index(fields=["state", "completed_at"], name="workitem_finished"),
        ]
        constraints = [
            models.CheckConstraint(
                name="workitem_has_one_subject",
                condition=models.Q(case__isnull=False, exposure__isnull=True, setting__isnull=True)
                | models.Q(case__isnull=True, exposure__isnull=False, setting__isnull=True)
                | models.Q(case__isnull=True, exposure__isnull=True, setting__isnull=False),
            ),
            models.CheckConstraint(
                name="workitem_claimed_has_tracer",
                condition=~models.Q(state="claimed")
                | models.Q(claimed_by__isnull=False, claimed_at__isnull=False),
            ),
            # One open item per subject and kind: a case cannot wait in two queues at once.
            models.UniqueConstraint(
                fields=["kind", "case"],
                condition=models.Q(state__in=["waiting", "claimed"], case__isnull=False),
                name="workitem_one_open_per_case",
            ),
            models.UniqueConstraint(
                fields=["kind", "exposure"],
                condition=models.Q(state__in=["waiting", "claimed"], exposure__isnull=False),
                name="workitem_one_open_per_exposure",
            ),
        ]

    def __str__(self) -> str:
        return f"WorkItem {self.pk} ({self.kind}, tier {self.tier}, {self.state})"


class CallOutcome(models.TextChoices):
    COMPLETED = "completed", "Spoke to them: completed"
    NO_ANSWER = "no_answer", "No answer"
    VOICEMAIL = "voicemail", "Left a voicemail"
    BUSY = "busy", "Line busy"
    CALL_BACK = "call_back", "Asked to be called back"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    REFUSED = "refused", "Refused to take part"


RETRYABLE_OUTCOMES = frozenset(
    {CallOutcome.NO_ANSWER, CallOutcome.VOICEMAIL, CallOutcome.BUSY, CallOutcome.CALL_BACK}
)


class CallAttempt(models.Model):
    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="calls")
    outcome = models.CharField(max_length=16, choices=CallOutcome.choices)
    by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"CallAttempt {self.pk} ({self.outcome})"
