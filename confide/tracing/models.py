from __future__ import annotations

from django.db import models

from confide.cases.models import Case, Policy
from confide.messaging.models import Message
from confide.people.models import Person
from confide.privacy.blind_index import INDEX_HEX_LENGTH
from confide.privacy.models import DataKey
from confide.staff.models import StaffMember


class SettingKind(models.TextChoices):
    HOUSEHOLD = "household", "Household"
    WORKPLACE = "workplace", "Workplace"
    SCHOOL = "school", "School or nursery"
    CARE_HOME = "care_home", "Care home"
    PRISON = "prison", "Prison"
    HEALTHCARE = "healthcare", "Healthcare setting"
    VENUE = "venue", "Venue (pub, restaurant, gym)"
    EVENT = "event", "Event or gathering"


# Settings where England's 2020 service routed cases to local health protection (tier 1).
TIER_ONE_SETTING_KINDS = frozenset(
    {SettingKind.CARE_HOME, SettingKind.SCHOOL, SettingKind.PRISON, SettingKind.HEALTHCARE}
)
SETTING_SEALED_FIELDS = ("address", "postcode")


class Setting(models.Model):
    """A place people meet. A household's address is someone's home, so it is sealed;
    a household has no name in clear (constraint), other settings may (a school's name)."""

    kind = models.CharField(max_length=16, choices=SettingKind.choices)
    name = models.CharField(max_length=200, blank=True)
    data_key = models.OneToOneField(DataKey, on_delete=models.PROTECT)
    address_sealed = models.BinaryField(null=True)
    postcode_sealed = models.BinaryField(null=True)
    # NULL, not "", for "no value": an empty string would make every blank postcode match.
    postcode_index = models.CharField(max_length=INDEX_HEX_LENGTH, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["postcode_index"], name="setting_postcode_bidx")]
        constraints = [
            models.CheckConstraint(
                name="household_has_no_clear_name",
                condition=~models.Q(kind="household") | models.Q(name=""),
            )
        ]

    def __str__(self) -> str:
        return f"Setting {self.pk} ({self.kind})"


class SettingVisit(models.Model):
    """A case was at a setting on a day of their infectious period."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="visits")
    setting = models.ForeignKey(Setting, on_delete=models.PROTECT, related_name="visits")
    visited_on = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["setting", "visited_on"], name="visit_setting_day")]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "setting", "visited_on"], name="visit_once_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"Visit {self.pk}"


class Proximity(models.TextChoices):
    HOUSEHOLD = "household", "Household"
    CLOSE = "close", "Close contact (face to face, under 1 metre)"
    PROXIMITY = "proximity", "Proximity (within 2 metres for 15 minutes)"


class NotificationState(models.TextChoices):
    PENDING = "pending", "Not yet notified"
    QUEUED = "queued", "Notification queued"
    SENT = "sent", "Notified"
    FAILED = "failed", "Notification failed"
    NOT_REQUIRED = "not_required", "Not required"


class Exposure(models.Model):
    """A case-to-contact link. What the contact is told never reveals the case."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="exposures")
    contact = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="exposures")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT)
    last_contact_on = models.DateField()
    proximity = models.CharField(max_length=16, choices=Proximity.choices)
    setting = models.ForeignKey(
        Setting, on_delete=models.PROTECT, null=True, blank=True, related_name="exposures"
    )
    isolation_ends_on = models.DateField()
    notification_state = models.CharField(
        max_length=16, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    notification_message = models.OneToOneField(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="exposure"
    )
    recorded_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["contact", "isolation_ends_on"], name="exposure_contact_isolation"
            ),
            models.Index(fields=["notification_state", "created_at"], name="exposure_to_notify"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["case", "contact"], name="exposure_once_per_case"),
            models.CheckConstraint(
                name="exposure_isolation_after_contact",
                condition=models.Q(isolation_ends_on__gte=models.F("last_contact_on")),
            ),
        ]

    def __str__(self) -> str:
        return f"Exposure {self.pk}"


class FollowUpStatus(models.TextChoices):
    DUE = "due", "Due"
    DONE = "done", "Done"
    MISSED = "missed", "Missed"


class FollowUpOutcome(models.TextChoices):
    WELL = "well", "Well"
    SYMPTOMS = "symptoms", "Has symptoms"
    NEEDS_SUPPORT = "needs_support", "Needs support"
    UNREACHABLE = "unreachable", "Could not be reached"


class FollowUp(models.Model):
    """A daily check on a contact (through an exposure) or on a case, in isolation."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="follow_ups")
    exposure = models.ForeignKey(
        Exposure, on_delete=models.CASCADE, null=True, blank=True, related_name="follow_ups"
    )
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="follow_ups"
    )
    due_on = models.DateField()
    status = models.CharField(
        max_length=8, choices=FollowUpStatus.choices, default=FollowUpStatus.DUE
    )
    outcome = models.CharField(max_length=16, choices=FollowUpOutcome.choices, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "due_on"], name="followup_due"),
            # The daily sweep walks a day's due checks in id order, a batch at a time.
            models.Index(fields=["status", "due_on", "id"], name="followup_due_keyset"),
        ]
        constraints = [
            models.CheckConstraint(
                name="followup_of_exposure_or_case",
                condition=models.Q(exposure__isnull=False, case__isnull=True)
                | models.Q(exposure__isnull=True, case__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["exposure", "due_on"],
                condition=models.Q(exposure__isnull=False),
                name="followup_once_a_day_per_exposure",
            ),
            models.UniqueConstraint(
                fields=["case", "due_on"],
                condition=models.Q(case__isnull=False),
                name="followup_once_a_day_per_case",
            ),
        ]

    def __str__(self) -> str:
        return f"FollowUp {self.pk}"
