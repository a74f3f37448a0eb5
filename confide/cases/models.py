from __future__ import annotations

import uuid

from django.db import models

from confide.people.models import Person
from confide.staff.models import StaffMember, Tier


class Policy(models.Model):
    """Versioned public-health rules. A change of guidance is a new row, never a code change."""

    version = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=200)
    effective_from = models.DateField(unique=True)
    source = models.CharField(max_length=300, help_text="The guidance this row encodes.")
    infectious_days_before = models.PositiveSmallIntegerField()
    infectious_days_after = models.PositiveSmallIntegerField()
    contact_isolation_days = models.PositiveSmallIntegerField()
    case_isolation_days = models.PositiveSmallIntegerField()
    max_call_attempts = models.PositiveSmallIntegerField()
    call_attempt_window_hours = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"Policy v{self.version} from {self.effective_from}"


class ResultOutcome(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    VOID = "void", "Void"


class TestResult(models.Model):
    """A lab result, idempotent on (lab, the lab's own result id)."""

    lab_code = models.CharField(max_length=64)
    lab_result_id = models.CharField(max_length=128)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="test_results")
    outcome = models.CharField(max_length=16, choices=ResultOutcome.choices)
    specimen_date = models.DateField()
    test_code = models.CharField(max_length=32, blank=True, help_text="LOINC code")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lab_code", "lab_result_id"], name="result_once_per_lab"
            )
        ]

    def __str__(self) -> str:
        return f"TestResult {self.pk}"


class CaseStatus(models.TextChoices):
    NEW = "new", "New"
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    UNREACHABLE = "unreachable", "Unreachable"
    ESCALATED = "escalated", "Escalated"
    CLOSED = "closed", "Closed"


class Case(models.Model):
    """A positive person's episode. Dates here are pseudonymous: identity lives sealed on Person."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="cases")
    test_result = models.OneToOneField(
        TestResult, on_delete=models.PROTECT, null=True, blank=True, related_name="case"
    )
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT)
    specimen_date = models.DateField()
    symptom_onset = models.DateField(null=True, blank=True)
    infectious_from = models.DateField()
    infectious_until = models.DateField()
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.NEW)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.CLINICAL)
    assigned_to = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    outcome = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "tier", "created_at"], name="case_queue"),
            models.Index(fields=["assigned_to", "status"], name="case_assignee"),
            models.Index(fields=["infectious_from", "infectious_until"], name="case_infectious"),
            # The API's case listing by status, in id order from a cursor (keyset pages).
            models.Index(fields=["status", "id"], name="case_status_listing"),
        ]
        constraints = [
            models.CheckConstraint(
                name="case_infectious_period_ordered",
                condition=models.Q(infectious_until__gte=models.F("infectious_from")),
            ),
            models.CheckConstraint(
                name="case_assigned_states_have_assignee",
                condition=~models.Q(status__in=["assigned", "in_progress"])
                | models.Q(assigned_to__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Case {self.reference}"


class CaseTransition(models.Model):
    """Every change of a case's status, who made it and why."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=CaseStatus.choices)
    to_status = models.CharField(max_length=16, choices=CaseStatus.choices)
    by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"Case {self.case_id}: {self.from_status} -> {self.to_status}"
