"""notify_contact: the contact's own message, by the best route we hold, in their language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from confide.messaging.dispatch import dispatch_due_messages, envelope_for
from confide.messaging.models import Channel, Language, Message, MessageState
from confide.messaging.tests.conftest import (
    details_without_contact_routes,
    expose,
    make_person,
)
from confide.people.services import create_person
from confide.tracing.models import NotificationState, Proximity
from confide.tracing.notifications import notify_contact
from confide.tracing.services import record_exposure

pytestmark = pytest.mark.django_db

# The exposure every test here records: last contact 9 January 2021, 10 days' isolation.
ENDS_IN_ENGLISH = "Tuesday 19 January 2021"
ENDS_IN_WELSH = "Dydd Mawrth 19 Ionawr 2021"


def notification(**details: str) -> Message:
    language = details.pop("language", Language.ENGLISH)
    exposure = expose(make_person(language=language, **details))
    assert exposure.notification_message is not None
    return exposure.notification_message


def test_a_contact_with_an_email_address_is_emailed():
    message = notification(email="sam@example.org", phone="07700 900123")

    assert message.channel == Channel.EMAIL
    assert envelope_for(message).recipient == "sam@example.org"


def test_a_contact_with_only_a_phone_number_is_texted():
    message = notification(email="", phone="07700 900123")

    assert message.channel == Channel.SMS
    assert envelope_for(message).recipient == "+447700900123"


def test_a_contact_with_only_a_postal_address_is_sent_a_letter():
    message = notification(email="", phone="", address="1 Heol y Bont", postcode="CF10 1AA")

    assert message.channel == Channel.LETTER
    assert envelope_for(message).recipient == "1 Heol y Bont\nCF10 1AA"


def test_a_letter_is_left_for_the_print_run_not_dispatched():
    message = notification(email="", phone="")

    report = dispatch_due_messages()

    message.refresh_from_db()
    assert report.sent == report.failed == report.retrying == 0
    assert (message.state, message.attempts) == (MessageState.QUEUED, 0)


def test_a_contact_we_cannot_reach_gets_no_message_and_stays_pending():
    contact = create_person(details=details_without_contact_routes())
    exposure = expose(contact, notify=False)

    assert notify_contact(exposure=exposure) is None

    exposure.refresh_from_db()
    assert exposure.notification_state == NotificationState.PENDING
    assert exposure.notification_message is None
    assert Message.objects.count() == 0


def test_recording_a_contact_queues_their_notification_on_the_exposure():
    exposure = expose(make_person(email="sam@example.org"))

    exposure.refresh_from_db()
    assert exposure.notification_state == NotificationState.QUEUED
    assert exposure.notification_message is not None
    assert exposure.notification_message.person == exposure.contact


def test_recording_the_same_contact_again_does_not_queue_a_second_notification():
    contact = make_person(email="sam@example.org")
    exposure = expose(contact)

    record_exposure(
        case=exposure.case,
        contact=contact,
        last_contact=exposure.last_contact_on,
        proximity=Proximity.CLOSE,
        today=exposure.last_contact_on,
    )

    assert Message.objects.filter(person=contact).count() == 1


def test_an_english_speaker_is_told_their_isolation_end_date_in_english():
    message = notification(email="sam@example.org", given_name="Sam")

    body = envelope_for(message).body

    assert message.template.language == Language.ENGLISH
    assert body.startswith("Dear Sam,")
    assert ENDS_IN_ENGLISH in body


def test_a_welsh_speaker_is_emailed_the_welsh_template_with_a_welsh_date():
    message = notification(email="sian@example.org", given_name="Siân", language=Language.WELSH)

    envelope = envelope_for(message)

    assert message.template.language == Language.WELSH
    assert envelope.subject.startswith("Olrhain cysylltiadau")
    assert envelope.body.startswith("Annwyl Siân,")
    assert ENDS_IN_WELSH in envelope.body


def test_a_welsh_speaker_is_texted_in_welsh():
    message = notification(email="", phone="07700 900321", language=Language.WELSH)

    body = envelope_for(message).body

    assert message.template.language == Language.WELSH
    assert "Hunanynyswch" in body
    assert ENDS_IN_WELSH in body


def test_a_welsh_speaker_sent_a_letter_gets_the_english_letter_with_an_english_date():
    # No Welsh letter is seeded: the fallback keeps the date in the template's language.
    message = notification(email="", phone="", language=Language.WELSH)

    body = envelope_for(message).body

    assert message.template.language == Language.ENGLISH
    assert ENDS_IN_ENGLISH in body
    assert "Ionawr" not in body


def test_a_texted_notification_is_written_once_to_the_sms_provider(sms_outbox: Path):
    message = notification(email="", phone="07700 900456")

    dispatch_due_messages()

    [line] = sms_outbox.read_text().splitlines()
    sent = json.loads(line)
    assert sent["to"] == "+447700900456"
    assert sent["reference"] == str(message.reference)
    message.refresh_from_db()
    assert message.state == MessageState.SENT


def test_a_delivered_email_notification_shows_as_sent_on_the_exposure(guarded_mail_to_sink):
    exposure = expose(make_person(email="sam@example.org"))

    dispatch_due_messages()

    [arrived] = guarded_mail_to_sink.wait_for(1)
    assert arrived["rcpt_tos"] == ["sam@example.org"]
    exposure.refresh_from_db()
    assert exposure.notification_state == NotificationState.SENT
