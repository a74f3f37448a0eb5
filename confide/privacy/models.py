from __future__ import annotations

import uuid

from django.db import models


class DataKey(models.Model):
    """A per-subject AES-256 data key, stored only wrapped by a master key.

    Each Person (and each staff member, and each home address) has its own, so erasing one
    subject is destroying one key: ciphertexts elsewhere — replicas, exports — become noise.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wrapped_key = models.BinaryField(null=True)
    master_version = models.PositiveIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rewrapped_at = models.DateTimeField(null=True)
    destroyed_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["master_version"], name="datakey_master_version")]
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
