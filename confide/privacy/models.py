from __future__ import annotations

import uuid

from django.db import models


class DataKey(models.Model):
    """A per-subject AES-256 data key, stored only wrapped by a master key.

    Each Person (and each staff member, and each home address) has its own, so erasing one
    subject is destroying one key: ciphertexts elsewhere — replicas, exports — become noise.
    With a `retention_epoch`, the wrapping key is derived from the master key and that epoch's
    key, which the key store destroys once the epoch has passed: then even a copy of this row
    taken earlier no longer opens. Without one (keys made before epochs, staff), the master
    key alone wraps it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wrapped_key = models.BinaryField(null=True)
    master_version = models.PositiveIntegerField(null=True)
    retention_epoch = models.DateField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rewrapped_at = models.DateTimeField(null=True)
    destroyed_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["master_version"], name="datakey_master_version"),
            models.Index(fields=["retention_epoch"], name="datakey_retention_epoch"),
        ]
        constraints = [
            models.CheckConstraint(
                name="datakey_live_or_destroyed",
                condition=(
                    models.Q(
                        destroyed_at__isnull=True,
                        wrapped_key__isnull=False,
                        master_version__isnull=False,
                    )
                    | models.Q(
                        destroyed_at__isnull=False,
                        wrapped_key__isnull=True,
                        master_version__isnull=True,
                    )
                ),
            )
        ]

    def __str__(self) -> str:
        return f"DataKey {self.id}"


class AccessAction(models.TextChoices):
    VIEW = "view", "Viewed"
    SEARCH = "search", "Searched"
    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    EXPORT = "export", "Exported"
    ERASE = "erase", "Erased"
    DISCLOSE = "disclose", "Disclosed"


class AccessEvent(models.Model):
    """One audited access to personal data: who, whose, what, why, when — and no plaintext.

    Append-only and hash-chained: each entry's `entry_hash` commits to the previous entry's, so
    an edited, deleted or reordered row breaks the chain (`confide audit verify`). People and
    staff are referenced by their random references, not foreign keys, so the log outlives them.
    """

    sequence = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor_reference = models.UUIDField(null=True, blank=True, help_text="StaffMember.reference")
    subject_reference = models.UUIDField(null=True, blank=True, help_text="Person.reference")
    action = models.CharField(max_length=16, choices=AccessAction.choices)
    purpose = models.CharField(max_length=200)
    object_type = models.CharField(max_length=32, blank=True)
    object_reference = models.CharField(max_length=64, blank=True)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        indexes = [
            models.Index(fields=["subject_reference", "at"], name="access_by_subject"),
            models.Index(fields=["actor_reference", "at"], name="access_by_actor"),
        ]

    def __str__(self) -> str:
        return f"AccessEvent {self.sequence}"


class AuditChainHead(models.Model):
    """The single row that serialises appends to the access log (locked FOR UPDATE)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.BigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"Audit chain at {self.sequence}"


class AuditCheckpoint(models.Model):
    """A signed statement of the chain's head at a moment. The signing key is outside the
    database, so someone who can rewrite the whole log still cannot forge checkpoints."""

    sequence = models.BigIntegerField()
    entry_hash = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)
    signed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sequence"]

    def __str__(self) -> str:
        return f"AuditCheckpoint at {self.sequence}"
