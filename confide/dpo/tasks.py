"""Background tasks of the data protection office (django-tasks, run by `confide worker`)."""

from __future__ import annotations

from django_tasks import task

from confide.dpo.retention import retention_sweep


@task()
def sweep_retention() -> dict[str, int]:
    """The daily retention sweep; returns counts per record type (never contents)."""
    return retention_sweep().counts
