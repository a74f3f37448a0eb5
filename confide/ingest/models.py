"""Import runs and their rejected rows: counts and reasons only, never a submitted value."""

from __future__ import annotations

import uuid

from django.db import models


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    FHIR = "fhir", "FHIR R4"


class ImportStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class ImportRun(models.Model):
    """One file or Bundle of lab results, and what became of its rows."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Who or what sent it ("cli", "api:<token reference>"): never a file name, which could
    # name a person.
    source = models.CharField(max_length=100)
    format = models.CharField(max_length=8, choices=ImportFormat.choices)
    lab_code = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.RUNNING
    )
    received = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    positives = models.PositiveIntegerField(default=0)
    negatives = models.PositiveIntegerField(default=0)
    cases_opened = models.PositiveIntegerField(default=0)
    cases_closed = models.PositiveIntegerField(default=0)
    # Why a whole run stopped (an unreadable file): our own words, never the file's content.
    failure = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-started_at"], name="importrun_recent")]

    def __str__(self) -> str:
        return f"ImportRun {self.reference}"


class ImportRowError(models.Model):
    """Why one row was rejected: its position, the field and the reason, without its value."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField()
    field = models.CharField(max_length=100)
    reason = models.CharField(max_length=300)

    class Meta:
        indexes = [models.Index(fields=["run", "row"], name="importrowerror_run_row")]

    def __str__(self) -> str:
        return f"ImportRowError {self.pk} (row {self.row})"
