"""The data protection office's records: the breach register and third-party disclosure requests.

Neither holds plaintext personal data of the people concerned. A breach entry holds counts and
categories; a disclosure request refers to people by foreign key and seals what its requester
wrote (their name, contact details and stated purpose) under the request's own data key.
"""

from __future__ import annotations

import uuid

from django.db import models

from confide.people.models import Person
from confide.privacy.models import DataKey
from confide.staff.models import StaffMember


class BreachSource(models.TextChoices):
    MANUAL = "manual", "Recorded by the data protection officer"
    BLOCKED_SEND = "blocked_send", "A message to several recipients was blocked"
    MASS_VIEWING = "mass_viewing", "A member of staff viewed unusually many people"
    UNASSIGNED_VIEWING = (
        "unassigned_viewing",
        "A member of staff viewed people not assigned to them",
    )
    BULK_EXPORT = "bulk_export", "Personal data of many people was exported"
    FAILED_LOGIN_STORM = "failed_login_storm", "Many failed sign-ins in a short time"
    AUDIT_CHAIN = "audit_chain", "The access log failed verification"


class BreachStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Decision(models.TextChoices):
    UNDECIDED = "undecided", "Not decided yet"
    YES = "yes", "Yes"
    NO = "no", "No"


class DataCategory(models.TextChoices):
    """UK GDPR Art. 33(3)(a): the categories of personal data concerned."""

    IDENTITY = "identity", "Identity (names, date of birth, NHS number)"
    CONTACT = "contact", "Contact details (phone numbers, email addresses)"
    LOCATION = "location", "Location (addresses, postcodes, places visited)"
    HEALTH = "health", "Health (test results, symptoms, isolation dates)"
    STAFF = "staff", "Staff contact details"
    CREDENTIALS = "credentials", "Staff sign-in credentials"
    ACCESS_LOG = "access_log", "The record of who accessed personal data"


class Breach(models.Model):
    """One entry in the breach register (UK GDPR Art. 33(5)): facts, effects, remedial action.

    Detectors open entries with `source` and `incident_key`; at most one entry per incident is
    open at a time (constraint), so a detector that runs again adds to it instead.
    `first_event_at`/`last_event_at`/`event_count` describe the evidence the entry covers; events
    after `last_event_at` are new evidence, before it they are already accounted for.
    """

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    summary = models.CharField(max_length=200)
    source = models.CharField(max_length=24, choices=BreachSource.choices)
    incident_key = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=BreachStatus.choices, default="open")
    became_aware_at = models.DateTimeField()
    opened_at = models.DateTimeField(auto_now_add=True)
    facts = models.TextField(blank=True)
    data_categories = models.JSONField(default=list, blank=True)
    approximate_people = models.PositiveIntegerField(null=True, blank=True)
    approximate_records = models.PositiveIntegerField(null=True, blank=True)
    likely_consequences = models.TextField(blank=True)
    measures_taken = models.TextField(blank=True)
    measures_proposed = models.TextField(blank=True)
    first_event_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    report_to_ico = models.CharField(max_length=10, choices=Decision.choices, default="undecided")
    report_to_ico_reason = models.TextField(blank=True)
    reported_to_ico_at = models.DateTimeField(null=True, blank=True)
    ico_reference = models.CharField(max_length=64, blank=True)
    tell_people = models.CharField(max_length=10, choices=Decision.choices, default="undecided")
    tell_people_reason = models.TextField(blank=True)
    people_told_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "became_aware_at"], name="breach_open_by_age")]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "incident_key"],
                condition=models.Q(status="open") & ~models.Q(incident_key=""),
                name="breach_one_open_per_incident",
            ),
            models.CheckConstraint(
                name="breach_closed_has_closed_at",
                condition=models.Q(status="open", closed_at__isnull=True)
                | models.Q(status="closed", closed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Breach {self.reference}"


class BreachChange(models.Model):
    """Every change to a breach entry: who (None: Confide's detectors), when, what changed."""

    breach = models.ForeignKey(Breach, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(auto_now_add=True)
    by_reference = models.UUIDField(null=True, blank=True, help_text="StaffMember.reference")
    description = models.CharField(max_length=200)
    # {field: [before, after]} for the fields that changed.
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"BreachChange {self.pk}"


class RequesterKind(models.TextChoices):
    POLICE = "police", "Police"
    IMMIGRATION = "immigration", "Immigration enforcement"
    TAX = "tax", "Tax authority (HMRC)"
    EMPLOYER = "employer", "Employer"
    LOCAL_AUTHORITY = "local_authority", "Local authority"
    OTHER = "other", "Anyone else"


class DisclosureStatus(models.TextChoices):
    REFUSED = "refused", "Refused"
    AWAITING_SECOND_APPROVAL = "awaiting_second", "Approved by the DPO, awaiting a second approver"
    APPROVED = "approved", "Approved for disclosure"
    DISCLOSED = "disclosed", "Disclosed"


class LawfulBasis(models.TextChoices):
    COURT_ORDER = "court_order", "A court order requires disclosure"
    LEGAL_OBLIGATION = "legal_obligation", "Another legal obligation (UK GDPR Art. 6(1)(c))"
    CRIME_EXEMPTION = (
        "crime_exemption",
        "Not disclosing would prejudice the prevention or detection of crime (DPA 2018 Sch. 2 "
        "para. 2)",
    )
    VITAL_INTERESTS = "vital_interests", "To protect someone’s life (UK GDPR Art. 6(1)(d))"
    CONSENT = "consent", "The person concerned has consented in writing"


class DisclosureRequest(models.Model):
    """A request from outside (police, immigration, tax, an employer, anyone) for data about
    people we hold. Refused by default; see confide/dpo/disclosures.py for what releases it."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    received_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    requester_kind = models.CharField(max_length=16, choices=RequesterKind.choices)
    organisation = models.CharField(max_length=200, help_text="An organisation, not a person")
    data_key = models.OneToOneField(DataKey, on_delete=models.PROTECT)
    requester_name_sealed = models.BinaryField(null=True)
    requester_contact_sealed = models.BinaryField(null=True)
    stated_purpose_sealed = models.BinaryField(null=True)
    requested_fields = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=DisclosureStatus.choices, default="refused")
    lawful_basis = models.CharField(max_length=20, choices=LawfulBasis.choices, blank=True)
    lawful_basis_detail_sealed = models.BinaryField(null=True)
    approved_fields = models.JSONField(default=list, blank=True)
    disclosed_at = models.DateTimeField(null=True, blank=True)
    disclosed_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["status", "received_at"], name="disclosure_by_status")]
        constraints = [
            models.CheckConstraint(
                name="disclosure_beyond_refusal_has_basis",
                condition=models.Q(status="refused") | ~models.Q(lawful_basis=""),
            ),
            models.CheckConstraint(
                name="disclosure_disclosed_has_when",
                condition=~models.Q(status="disclosed") | models.Q(disclosed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"DisclosureRequest {self.reference}"


class DisclosureSubject(models.Model):
    """A person a request is about (found through the logged population search)."""

    request = models.ForeignKey(
        DisclosureRequest, on_delete=models.CASCADE, related_name="subjects"
    )
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "person"], name="disclosure_subject_once")
        ]

    def __str__(self) -> str:
        return f"DisclosureSubject {self.pk}"


class DisclosureApproval(models.Model):
    """One person's approval. Two different people must approve; one of them a DPO."""

    request = models.ForeignKey(
        DisclosureRequest, on_delete=models.CASCADE, related_name="approvals"
    )
    approver = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    approver_role = models.CharField(max_length=32)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "approver"], name="disclosure_one_approval_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"DisclosureApproval {self.pk}"


class VerificationMethod(models.TextChoices):
    """How the DPO confirmed that a subject access request comes from the person themselves
    (UK GDPR Art. 12(6): reasonable doubts about identity may be resolved before acting)."""

    PHOTO_ID_IN_PERSON = "photo_id_in_person", "Photo identity document seen in person"
    DOCUMENTS_BY_POST = "documents_by_post", "Identity documents checked (copies by post)"
    KNOWLEDGE_BY_PHONE = (
        "knowledge_by_phone",
        "By phone: NHS number, date of birth and address confirmed against our record",
    )
    NHS_LOGIN = "nhs_login", "NHS login (identity verified by the NHS)"
    REPRESENTATIVE = (
        "representative",
        "Someone acting for the person, with their written authority and identity checked",
    )


class SubjectAccessRequest(models.Model):
    """A verified person's request to see, correct or erase what we hold (UK GDPR Art. 15-17).

    Holds no personal data itself: the person by foreign key (found through the logged
    population search), how the DPO verified them as a choice (free text could hold document
    numbers), and who recorded it.
    """

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    verification = models.CharField(max_length=24, choices=VerificationMethod.choices)
    recorded_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at", "-pk"]

    def __str__(self) -> str:
        return f"SubjectAccessRequest {self.reference}"


class RetentionRun(models.Model):
    """One run of the retention sweep: when, and how many records of each type it erased.
    Counts only, never what the records held."""

    at = models.DateTimeField()
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"RetentionRun {self.pk}"
