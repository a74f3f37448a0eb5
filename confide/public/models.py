"""Self-service links, one-time codes and a case's saved answers: nothing here is in clear.

A link's token is only ever stored as its SHA-256; a code as a keyed HMAC; a draft sealed under
the case's own data key (so erasing the person erases their draft too).
"""

from __future__ import annotations

from django.db import models

from confide.cases.models import Case
from confide.people.models import Person
from confide.privacy.models import DataKey
from confide.staff.models import StaffMember
from confide.tracing.models import Exposure


class LinkKind(models.TextChoices):
    CASE = "case", "Case: give contacts"
    CONTACT = "contact", "Contact: own isolation page"


class SelfServiceLink(models.Model):
    kind = models.CharField(max_length=8, choices=LinkKind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="self_service_links"
    )
    exposure = models.ForeignKey(
        Exposure,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="self_service_links",
    )
    expires_at = models.DateTimeField()
    spent_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    failed_verifications = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)
    # When an unfinished case was put in front of a tracer (see queue_unfinished_cases).
    tracer_queued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "created_at"], name="selfservice_link_age")]
        constraints = [
            models.CheckConstraint(
                name="selfservice_link_for_a_case_or_an_exposure",
                condition=models.Q(kind="case", case__isnull=False, exposure__isnull=True)
                | models.Q(kind="contact", case__isnull=True, exposure__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"SelfServiceLink {self.pk} ({self.kind})"


class VerificationCode(models.Model):
    link = models.ForeignKey(SelfServiceLink, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"VerificationCode {self.pk}"


class CaseDraft(models.Model):
    """What a case has typed so far, sealed under their own data key."""

    link = models.OneToOneField(SelfServiceLink, on_delete=models.CASCADE, related_name="draft")
    data_key = models.ForeignKey(DataKey, on_delete=models.PROTECT, related_name="+")
    answers_sealed = models.BinaryField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"CaseDraft {self.pk}"
