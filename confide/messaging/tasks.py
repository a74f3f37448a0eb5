"""Background tasks (django-tasks, database backend): run by `confide worker`."""

from __future__ import annotations

from django_tasks import task

from confide.messaging.dispatch import dispatch_due_messages
from confide.messaging.services import purge_message_contents


@task(queue_name="messages")
def dispatch_messages() -> int:
    """Send every due message; returns how many were sent."""
    return dispatch_due_messages().sent


@task()
def purge_messages() -> int:
    return purge_message_contents()
