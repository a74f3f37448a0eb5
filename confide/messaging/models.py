from __future__ import annotations

import uuid

from django.db import models

from confide.messaging.template_types import TemplateKind
from confide.people.models import Person
from confide.privacy.models import DataKey
from confide.staff.models import StaffMember


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"
    LETTER = "letter", "Letter (printed)"


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    WELSH = "cy", "Cymraeg"


class MessageTemplate(models.Model):
    """One version of a template. Editing makes a new version; messages keep the one they used."""

    kind = models.CharField(max_length=32, choices=TemplateKind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    created_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "channel", "language", "version"], name="template_version_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.channel}/{self.language} v{self.version}"


class MessageState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED_TEMPORARY = "failed_temporary", "Failed, will retry"
    FAILED_PERMANENT = "failed_permanent", "Failed"
    CANCELLED = "cancelled", "Cancelled"


DISPATCHABLE_STATES = (MessageState.QUEUED, MessageState.FAILED_TEMPORARY)


class Broadcast(models.Model):
    """A supervisor's message to a group of staff, sent as one Message per person."""

    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT)
    group_name = models.CharField(max_length=200)
    recipient_count = models.PositiveIntegerField()
    sent_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Broadcast {self.pk} to {self.recipient_count}"


class Message(models.Model):
    """One outbound message to exactly one recipient.

    The recipient and personalisation are sealed under the recipient's own data key, so erasing
    the person (or staff member) also makes their messages unreadable. `reference` is the
    idempotency key: the SMTP Message-ID and the provider reference, the same on every attempt.
    """

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    staff_member = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    broadcast = models.ForeignKey(
        Broadcast, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    data_key = models.ForeignKey(DataKey, on_delete=models.PROTECT, related_name="+")
    recipient_sealed = models.BinaryField(null=True)
    personalisation_sealed = models.BinaryField(null=True)
    state = models.CharField(
        max_length=16, choices=MessageState.choices, default=MessageState.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    provider_reference = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="message_due"),
            models.Index(fields=["state", "lease_expires_at"], name="message_lease"),
            models.Index(fields=["created_at"], name="message_created"),
        ]
        constraints = [
            models.CheckConstraint(
                name="message_to_a_person_or_a_staff_member",
                condition=models.Q(person__isnull=False, staff_member__isnull=True)
                | models.Q(person__isnull=True, staff_member__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"Message {self.reference} ({self.state})"


class BlockedSend(models.Model):
    """A near miss: something tried to send one message to several recipients and was stopped.

    Holds no addresses (they are personal data): how many there were, through which channel,
    from which code path, and who was signed in if anyone — for the data protection office.
    """

    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient_count = models.PositiveIntegerField()
    reason = models.CharField(max_length=300)
    origin = models.CharField(max_length=300, help_text="The code that tried to send")
    actor = models.ForeignKey(StaffMember, on_delete=models.PROTECT, null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"BlockedSend {self.pk}"
