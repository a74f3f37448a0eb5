"""Isolation support: payment applications, their decisions and payments, and practical help.

Every personal value (eligibility answers, bank details, evidence, free text) is sealed under
the applicant's own data key, so erasing the person shreds their support records too. Bank
details are compared across applicants only through a blind index.
"""

from __future__ import annotations

import uuid

from django.db import models

from confide.cases.models import Case
from confide.people.models import Person
from confide.privacy.blind_index import INDEX_HEX_LENGTH
from confide.privacy.models import DataKey
from confide.staff.models import StaffMember
from confide.tracing.models import Exposure

# Sealed fields of an application, as `<name>_sealed` (the records-of-processing page and
# erasure read this tuple).
APPLICATION_SEALED_FIELDS = ("answers", "account_name", "sort_code", "account_number")

# An isolation period is either a contact's exposure or a case's own isolation: exactly one.
_ONE_PERIOD = models.Q(exposure__isnull=False, case__isnull=True) | models.Q(
    exposure__isnull=True, case__isnull=False
)


class ApplicationState(models.TextChoices):
    DRAFT = "draft", "Being filled in"
    SUBMITTED = "submitted", "Waiting for review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PAID = "paid", "Paid"


class Scheme(models.TextChoices):
    # England 2020: the main scheme for people on a qualifying benefit; councils' discretionary
    # payments for others on a low income who would lose income by isolating.
    MAIN = "main", "Test and Trace Support Payment"
    DISCRETIONARY = "discretionary", "Discretionary payment"


class SupportApplication(models.Model):
    """One person's application for a support payment for one isolation period."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    # The key the sealed fields are sealed under: the person's own.
    data_key = models.ForeignKey(DataKey, on_delete=models.PROTECT, related_name="+")
    exposure = models.ForeignKey(
        Exposure, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    isolation_starts_on = models.DateField()
    isolation_ends_on = models.DateField()
    state = models.CharField(
        max_length=16, choices=ApplicationState.choices, default=ApplicationState.DRAFT
    )
    scheme = models.CharField(max_length=16, choices=Scheme.choices, blank=True)

    answers_sealed = models.BinaryField(null=True)
    account_name_sealed = models.BinaryField(null=True)
    sort_code_sealed = models.BinaryField(null=True)
    account_number_sealed = models.BinaryField(null=True)
    # Keyed HMAC of sort code + account number: finds the same account across applicants.
    bank_account_index = models.CharField(  # noqa: DJ001 - NULL, so blanks never match
        max_length=INDEX_HEX_LENGTH, null=True, blank=True, editable=False
    )
    fraud_review = models.BooleanField(default=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["state", "submitted_at", "id"], name="support_app_queue"),
            models.Index(fields=["bank_account_index"], name="support_app_bank_bidx"),
        ]
        constraints = [
            models.CheckConstraint(name="support_app_one_period", condition=_ONE_PERIOD),
            models.UniqueConstraint(
                fields=["person", "exposure"],
                condition=models.Q(exposure__isnull=False),
                name="support_app_once_per_exposure",
            ),
            models.UniqueConstraint(
                fields=["person", "case"],
                condition=models.Q(case__isnull=False),
                name="support_app_once_per_case",
            ),
            models.CheckConstraint(
                name="support_app_submitted_has_time",
                condition=models.Q(state="draft") | models.Q(submitted_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"SupportApplication {self.reference}"

    @property
    def short_reference(self) -> str:
        """What the person and the officer quote: the reference's first eight characters."""
        return str(self.reference).split("-")[0].upper()


class SupportEvidence(models.Model):
    """An uploaded file (payslip, benefit letter), sealed; its name is not kept."""

    application = models.ForeignKey(
        SupportApplication, on_delete=models.CASCADE, related_name="evidence"
    )
    content_type = models.CharField(max_length=32)  # from the file's content, not its name
    size = models.PositiveIntegerField()
    content_sealed = models.BinaryField(null=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"SupportEvidence {self.pk}"


class SupportPayment(models.Model):
    """A payment made: at most one per person per isolation period (the constraints below)."""

    application = models.OneToOneField(
        SupportApplication, on_delete=models.PROTECT, related_name="payment"
    )
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    exposure = models.ForeignKey(
        Exposure, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_on = models.DateField()
    amount_pence = models.PositiveIntegerField()
    # The local authority's own reference in its finance system (not the person's bank's).
    payment_reference = models.CharField(max_length=40)
    recorded_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(name="support_payment_one_period", condition=_ONE_PERIOD),
            models.CheckConstraint(
                name="support_payment_positive", condition=models.Q(amount_pence__gt=0)
            ),
            models.UniqueConstraint(
                fields=["person", "exposure"],
                condition=models.Q(exposure__isnull=False),
                name="support_payment_once_per_exposure",
            ),
            models.UniqueConstraint(
                fields=["person", "case"],
                condition=models.Q(case__isnull=False),
                name="support_payment_once_per_case",
            ),
        ]

    def __str__(self) -> str:
        return f"SupportPayment {self.pk}"


class DecisionKind(models.TextChoices):
    SUBMITTED = "submitted", "Application submitted"
    FLAGGED = "flagged", "Flagged for fraud review: bank details used by another applicant"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PAID = "paid", "Payment recorded"


class SupportDecision(models.Model):
    """Each step of an application, who took it and why (the reason sealed: it may be
    about the person)."""

    application = models.ForeignKey(
        SupportApplication, on_delete=models.CASCADE, related_name="decisions"
    )
    kind = models.CharField(max_length=16, choices=DecisionKind.choices)
    by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason_sealed = models.BinaryField(null=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"SupportDecision {self.pk} ({self.kind})"


class HelpKind(models.TextChoices):
    FOOD = "food", "Food"
    MEDICINE = "medicine", "Medicine"
    OTHER = "other", "Something else"


class PracticalHelpRequest(models.Model):
    """A request for practical help while isolating, routed to the local support contact."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    data_key = models.ForeignKey(DataKey, on_delete=models.PROTECT, related_name="+")
    exposure = models.ForeignKey(
        Exposure, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=HelpKind.choices)
    details_sealed = models.BinaryField(null=True)
    routed_to = models.CharField(max_length=200)  # the local support contact's name, not a person
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["handled_at", "created_at", "id"], name="support_help_queue")
        ]
        constraints = [
            models.CheckConstraint(name="support_help_one_period", condition=_ONE_PERIOD)
        ]

    def __str__(self) -> str:
        return f"PracticalHelpRequest {self.reference}"

    @property
    def short_reference(self) -> str:
        """What the person and the officer quote: the reference's first eight characters."""
        return str(self.reference).split("-")[0].upper()
