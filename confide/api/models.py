from __future__ import annotations

import uuid

from django.db import models


class ApiClient(models.Model):
    """A lab or an integration that calls the API. Its `reference` is the actor named in the
    access log for everything it reads or writes (beside StaffMember references)."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    scopes = models.JSONField(default=list, help_text="confide.api.scopes.Scope values")
    # Entitlement: an integration sees only cases in these tiers (Tier values).
    entitled_tiers = models.JSONField(default=list)
    # A lab submits results under this code, never one given in a request body.
    lab_code = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lab_code"], condition=~models.Q(lab_code=""), name="api_client_one_lab"
            )
        ]

    def __str__(self) -> str:
        return f"ApiClient {self.name}"


class ApiToken(models.Model):
    """A bearer token, stored only as the SHA-256 of its secret (the secret has 256 bits of
    entropy, so a slow password hash would add nothing). `prefix` is the public part used to
    find the row; it is shown in listings and logs."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaces"
    )

    def __str__(self) -> str:
        return f"ApiToken {self.prefix}"


class RateLimitWindow(models.Model):
    """A fixed-window request counter shared by every app server (it is in the database)."""

    key = models.CharField(max_length=80, primary_key=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"RateLimitWindow {self.key}"


class WorkerHeartbeat(models.Model):
    """When each worker process last ran its ticker; `/readyz` wants a recent one."""

    worker = models.CharField(max_length=120, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"WorkerHeartbeat {self.worker}"
