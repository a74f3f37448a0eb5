from __future__ import annotations

from django.db import models


class DemoRun(models.Model):
    """Marks a database as holding the synthetic demo, so loading it again does nothing."""

    seed = models.IntegerField()
    cases = models.PositiveIntegerField()
    loaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Demo of {self.cases} cases (seed {self.seed})"
