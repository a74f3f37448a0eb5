"""Weekly publications of the public statistics: frozen once published."""

from __future__ import annotations

from typing import Any

from django.db import models


class PublicationIsFrozen(Exception):
    """A publication is never rewritten: a later week adds a new one."""


class WeeklyPublication(models.Model):
    """The statistics as published for one complete week, with every earlier week as it was
    first published. The public page, CSV and JSON show the latest one's `rows`."""

    week = models.CharField(max_length=8, unique=True, help_text='newest week shown: "2021-W02"')
    week_starts_on = models.DateField(unique=True)
    previous = models.OneToOneField(
        "self", null=True, on_delete=models.PROTECT, related_name="following"
    )
    published_at = models.DateTimeField()
    method = models.CharField(max_length=40, help_text="what was counted and how suppressed")
    rows = models.JSONField(help_text="the published rows, suppressed: what readers see")
    week_counts = models.JSONField(
        help_text="the new week's true counts, never shown: the next publication's input"
    )
    first_hidden = models.JSONField(
        help_text="per table, the [row, column] cells this publication hid first"
    )

    def __str__(self) -> str:
        return f"Statistics for {self.week}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PublicationIsFrozen(f"publication {self.week} was published and is frozen")
        super().save(*args, **kwargs)
