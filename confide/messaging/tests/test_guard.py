"""The one-recipient rule where mail and texts leave the process, against a real SMTP server.

Every test here sends with Django's own API (send_mail, EmailMessage) through the installed
backend: nothing of ours is replaced. SMTP is synchronous, so a message that got through is in
the sink's journal by the time the call returns.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.mail import EmailMessage, send_mail

from confide.messaging.models import BlockedSend, Channel
from confide.messaging.tests.conftest import GUARDED_BACKEND
from confide.messaging.transports import (
    Envelope,
    FileSmsTransport,
    PermanentFailure,
    check_one_phone_number,
)
from confide.privacy.context import acting_as
from confide.staff.models import Role
from confide.staff.tests.factories import StaffMemberFactory
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpSink]:
    sink = SmtpSink(journal=tmp_path_factory.mktemp("guard") / "mail.jsonl").start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink(shared_sink: SmtpSink) -> SmtpSink:
    """One sink process for this module (most tests here send nothing), its journal emptied
    before each test; the sink appends, so it writes from the start again."""
    shared_sink.journal.write_text("")
    return shared_sink


ALICE = "alice@example.org"
BOB = "bob@example.com"


def send_mail_to_two() -> int:
    return send_mail("s", "b", None, [ALICE, BOB])


def send_with_cc() -> int:
    return EmailMessage("s", "b", to=[ALICE], cc=[BOB]).send()


def send_with_bcc() -> int:
    return EmailMessage("s", "b", to=[ALICE], bcc=[BOB]).send()


def send_with_to_header_smuggled() -> int:
    return EmailMessage("s", "b", to=[ALICE], headers={"To": f"{ALICE}, {BOB}"}).send()


def send_with_cc_header_smuggled() -> int:
    return EmailMessage("s", "b", to=[ALICE], headers={"Cc": BOB}).send()


def send_with_lower_case_bcc_header() -> int:
    return EmailMessage("s", "b", to=[ALICE], headers={"bcc": BOB}).send()


def send_with_reply_to_someone_else() -> int:
    return EmailMessage("s", "b", to=[ALICE], reply_to=[BOB]).send()


def send_to_one_string_naming_two() -> int:
    return send_mail("s", "b", None, [f"{ALICE}, {BOB}"])


def send_to_a_group_naming_two() -> int:
    return send_mail("s", "b", None, [f"trainees: {ALICE}, {BOB};"])


def send_from_someone_elses_address() -> int:
    return send_mail("s", "b", BOB, [ALICE])


MULTIPLE_RECIPIENTS: list[Callable[[], int]] = [
    send_mail_to_two,
    send_with_cc,
    send_with_bcc,
    send_with_to_header_smuggled,
    send_with_cc_header_smuggled,
    send_with_lower_case_bcc_header,
    send_with_reply_to_someone_else,
    send_to_one_string_naming_two,
    send_to_a_group_naming_two,
    send_from_someone_elses_address,
]


def test_the_settings_install_the_one_recipient_backend_for_all_email():
    # pytest-django swaps EMAIL_BACKEND for locmem during tests; the settings module is the truth.
    configured = importlib.import_module("confide.settings")

    assert configured.EMAIL_BACKEND == GUARDED_BACKEND


@pytest.mark.parametrize("attempt", MULTIPLE_RECIPIENTS, ids=lambda f: f.__name__)
def test_an_email_that_could_show_another_address_sends_nothing(attempt, guarded_mail_to_sink):
    sent = attempt()

    assert sent == 0
    assert guarded_mail_to_sink.transactions() == []


@pytest.mark.parametrize("attempt", MULTIPLE_RECIPIENTS, ids=lambda f: f.__name__)
def test_a_refused_email_is_recorded_as_a_near_miss_naming_the_code_that_sent_it(
    attempt, guarded_mail_to_sink
):
    attempt()

    near_miss = BlockedSend.objects.get()
    assert near_miss.channel == Channel.EMAIL
    assert near_miss.origin.startswith(f"{__name__}:{attempt.__name__}:")


def test_a_near_miss_counts_the_recipients_but_holds_none_of_their_addresses(
    guarded_mail_to_sink,
):
    EmailMessage("s", "b", to=[ALICE], cc=[BOB], bcc=["carol@example.net"]).send()

    near_miss = BlockedSend.objects.get()
    assert near_miss.recipient_count == 3
    recorded = f"{near_miss.reason} {near_miss.origin}"
    assert "example" not in recorded


def test_a_near_miss_records_the_signed_in_staff_member(guarded_mail_to_sink):
    member = StaffMemberFactory.create(role=Role.SUPERVISOR)

    with acting_as(member):
        send_mail_to_two()

    assert BlockedSend.objects.get().actor == member


def test_a_refused_message_in_a_batch_does_not_stop_the_others(guarded_mail_to_sink):
    from django.core.mail import get_connection

    batch = [
        EmailMessage("one", "b", to=[ALICE]),
        EmailMessage("two", "b", to=[ALICE, BOB]),
        EmailMessage("three", "b", to=[BOB]),
    ]

    sent = get_connection().send_messages(batch)

    assert sent == 2
    arrived = guarded_mail_to_sink.transactions()
    assert [t["rcpt_tos"] for t in arrived] == [[ALICE], [BOB]]
    assert BlockedSend.objects.count() == 1


def test_an_email_to_one_recipient_arrives(guarded_mail_to_sink):
    sent = send_mail("Subject", "Body", None, [ALICE])

    assert sent == 1
    [arrived] = guarded_mail_to_sink.wait_for(1)
    assert arrived["rcpt_tos"] == [ALICE]
    assert BlockedSend.objects.count() == 0


def test_an_email_with_reply_to_the_services_own_mailbox_arrives(settings, guarded_mail_to_sink):
    settings.CONFIDE_REPLY_TO_ADDRESSES = ["help@confide.example.org"]

    sent = EmailMessage("s", "b", to=[ALICE], reply_to=["help@confide.example.org"]).send()

    assert sent == 1
    assert len(guarded_mail_to_sink.wait_for(1)) == 1


@pytest.mark.parametrize(
    "recipient",
    [f'"{ALICE}, {BOB}" <carol@example.net>', f"carol@example.net ({ALICE}, {BOB})"],
    ids=["display-name", "comment"],
)
def test_an_email_whose_recipient_name_carries_other_addresses_sends_nothing(
    recipient, guarded_mail_to_sink: SmtpSink
):
    # One mailbox, but Carol's To header would show her Alice's and Bob's addresses.
    sent = send_mail("s", "b", None, [recipient])

    assert sent == 0
    assert guarded_mail_to_sink.transactions() == []


@pytest.mark.parametrize("header", ["Mail-Followup-To", "Mail-Reply-To"])
def test_an_email_with_a_reply_header_naming_other_people_sends_nothing(
    header, guarded_mail_to_sink: SmtpSink
):
    # Mail clients show these and send replies to everyone they name, like Reply-To.
    sent = EmailMessage("s", "b", to=[ALICE], headers={header: f"{ALICE}, {BOB}"}).send()

    assert sent == 0
    assert guarded_mail_to_sink.transactions() == []


# --- texts -----------------------------------------------------------------------------------


def sms(recipient: object) -> Envelope:
    return Envelope(
        channel=Channel.SMS,
        recipient=recipient,  # type: ignore[arg-type]  # what a careless caller might pass
        subject="",
        body="Please self-isolate",
        reference="00000000-0000-0000-0000-000000000001",
    )


SEVERAL_NUMBERS: list[object] = [
    ["07700900001", "07700900002"],
    ("+447700900001", "+447700900002"),
    "07700900001, 07700900002",
    "07700900001;07700900002",
    "07700900001/07700900002",
    "07700900001\n07700900002",
    "+447700900001 +447700900002",
]


@pytest.mark.parametrize("recipient", SEVERAL_NUMBERS, ids=repr)
def test_the_file_sms_provider_refuses_several_numbers_and_writes_nothing(
    recipient, sms_outbox: Path
):
    with FileSmsTransport(sms_outbox) as transport, pytest.raises(PermanentFailure):
        transport.send(sms(recipient))

    assert not sms_outbox.exists() or sms_outbox.read_text() == ""


@pytest.mark.parametrize("recipient", SEVERAL_NUMBERS, ids=repr)
def test_a_text_to_several_numbers_is_recorded_as_a_near_miss(recipient):
    with pytest.raises(PermanentFailure):
        check_one_phone_number(recipient)

    near_miss = BlockedSend.objects.get()
    assert near_miss.channel == Channel.SMS
    assert near_miss.recipient_count == 2


def send_a_text_to_two_numbers(sms_outbox: Path) -> None:
    with FileSmsTransport(sms_outbox) as transport:
        transport.send(sms("07700900001, 07700900002"))


def test_a_refused_text_is_recorded_naming_the_code_that_tried_to_send_it(sms_outbox: Path):
    with pytest.raises(PermanentFailure):
        send_a_text_to_two_numbers(sms_outbox)

    origin = BlockedSend.objects.get().origin
    assert origin.startswith(f"{__name__}:send_a_text_to_two_numbers:")


def test_two_national_numbers_separated_by_a_space_are_refused(sms_outbox: Path):
    with FileSmsTransport(sms_outbox) as transport, pytest.raises(PermanentFailure):
        transport.send(sms("07700900001 07700900002"))

    assert BlockedSend.objects.filter(channel=Channel.SMS).count() == 1


@pytest.mark.parametrize("recipient", ["+447700900001", "07700 900001", "07700 900 001"])
def test_a_text_to_one_number_is_written_once(recipient, sms_outbox: Path):
    with FileSmsTransport(sms_outbox) as transport:
        transport.send(sms(recipient))

    [line] = sms_outbox.read_text().splitlines()
    assert json.loads(line)["to"] == recipient
    assert BlockedSend.objects.count() == 0
