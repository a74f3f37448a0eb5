"""Background task of the public statistics (django-tasks, run by `confide worker`)."""

from __future__ import annotations

from django_tasks import task

from confide.statistics.services import publish_due_weeks


@task()
def publish_statistics() -> list[str]:
    """Publish the weeks that have come due; returns the weeks published."""
    return [publication.week for publication in publish_due_weeks()]
