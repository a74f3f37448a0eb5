"""The worker's timer for messaging: a dispatch task when messages are due and none is waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from confide.messaging.models import Channel, Message, MessageState
from confide.messaging.periodic import enqueue_due_dispatch
from confide.messaging.services import broadcast_to_staff, current_template
from confide.messaging.tasks import dispatch_messages
from confide.messaging.template_types import TemplateKind
from confide.messaging.tests.conftest import create_trainees, expose, make_person, queue_messages

pytestmark = pytest.mark.django_db


def waiting_dispatches() -> int:
    return DBTaskResult.objects.filter(
        task_path=dispatch_messages.module_path, status=TaskResultStatus.READY
    ).count()


def test_a_dispatch_task_is_enqueued_when_a_message_is_due():
    queue_messages(1)

    assert enqueue_due_dispatch() is True

    assert waiting_dispatches() == 1


def test_no_dispatch_task_is_enqueued_when_nothing_is_queued():
    assert enqueue_due_dispatch() is False

    assert DBTaskResult.objects.count() == 0


def test_no_dispatch_task_is_enqueued_for_a_retry_that_is_not_yet_due():
    [message] = queue_messages(1)
    Message.objects.filter(pk=message.pk).update(
        state=MessageState.FAILED_TEMPORARY, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )

    assert enqueue_due_dispatch() is False
    assert enqueue_due_dispatch(timezone.now() + timedelta(minutes=6)) is True


def test_no_dispatch_task_is_enqueued_for_a_letter():
    expose(make_person(email="", phone=""))

    assert enqueue_due_dispatch() is False


def test_a_message_whose_lease_expired_counts_as_due():
    [message] = queue_messages(1)
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        state=MessageState.SENDING, lease_expires_at=now - timedelta(seconds=1)
    )

    assert enqueue_due_dispatch(now) is True


def test_a_message_still_under_lease_is_not_due():
    [message] = queue_messages(1)
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        state=MessageState.SENDING, lease_expires_at=now + timedelta(seconds=60)
    )

    assert enqueue_due_dispatch(now) is False


def test_no_second_dispatch_task_is_enqueued_while_one_is_waiting():
    queue_messages(1)
    enqueue_due_dispatch()

    assert enqueue_due_dispatch() is False

    assert waiting_dispatches() == 1


def test_a_dispatch_task_is_enqueued_again_once_the_waiting_one_has_run():
    queue_messages(1)
    enqueue_due_dispatch()
    DBTaskResult.objects.update(status=TaskResultStatus.SUCCESSFUL)

    assert enqueue_due_dispatch() is True

    assert waiting_dispatches() == 1


def test_queueing_a_message_enqueues_a_dispatch_task_when_the_transaction_commits(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        expose(make_person(email="sam@example.org"))

    assert waiting_dispatches() == 1


def test_a_broadcast_enqueues_one_dispatch_task_however_many_messages(
    django_capture_on_commit_callbacks, supervisor
):
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_to_staff(
            members=create_trainees(20),
            group_name="G",
            template=current_template(kind=TemplateKind.STAFF_BROADCAST, channel=Channel.EMAIL),
            sent_by=supervisor,
        )

    assert waiting_dispatches() == 1


def test_a_letter_does_not_enqueue_a_dispatch_task(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        expose(make_person(email="", phone=""))

    assert waiting_dispatches() == 0
