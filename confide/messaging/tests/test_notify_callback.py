"""GOV.UK Notify delivery receipts update the message they are about, and nothing else."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from confide.messaging.models import Message, MessageState
from confide.messaging.services import Addressee, current_template, queue_message
from confide.messaging.template_types import TemplateKind
from confide.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db
TOKEN = "a-long-random-callback-token-set-in-notify"


@pytest.fixture
def message(settings) -> Message:
    settings.CONFIDE_NOTIFY_CALLBACK_TOKEN = TOKEN
    person = PersonFactory.create()
    template = current_template(kind=TemplateKind.CONTACT_NOTIFICATION, channel="sms")
    sent = queue_message(
        template=template,
        to=Addressee.for_person(person),
        recipient="07700 900123",
        personalisation={
            "first_name": "Sam",
            "isolation_ends_on": "Friday 4 December 2026",
            "support_link": "https://confide.example/support/",
        },
    )
    Message.objects.filter(pk=sent.pk).update(state=MessageState.SENT)
    return sent


def _post(client: Client, body: object, token: str = TOKEN):
    return client.post(
        "/messaging/notify/callback",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_delivered_receipt_marks_the_message_delivered(client: Client, message: Message) -> None:
    response = _post(client, {"reference": str(message.reference), "status": "delivered"})

    message.refresh_from_db()
    assert response.status_code == 200
    assert message.state == MessageState.DELIVERED
    assert message.delivered_at is not None


def test_a_permanent_failure_receipt_marks_the_message_failed(
    client: Client, message: Message
) -> None:
    _post(client, {"reference": str(message.reference), "status": "permanent-failure"})

    message.refresh_from_db()
    assert message.state == MessageState.FAILED_PERMANENT
    assert message.last_error == "Notify: permanent-failure"


def test_a_receipt_without_the_right_token_changes_nothing(
    client: Client, message: Message
) -> None:
    response = _post(
        client, {"reference": str(message.reference), "status": "delivered"}, token="guess"
    )

    message.refresh_from_db()
    assert response.status_code == 401
    assert message.state == MessageState.SENT


def test_a_receipt_for_an_unknown_reference_is_refused(client: Client, message: Message) -> None:
    response = _post(client, {"reference": "not-a-reference", "status": "delivered"})

    assert response.status_code == 404


def test_a_malformed_receipt_gets_a_clear_error(client: Client, message: Message) -> None:
    response = client.post(
        "/messaging/notify/callback",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )

    assert response.status_code == 400
    assert "reference and status" in response.json()["error"]
