"""The SMTP transport writes its messages by hand (`email_bytes`): the standard library must read
back exactly what was meant — one recipient, the subject and the body — for any text at all."""

from __future__ import annotations

import email
import email.policy
from email.utils import getaddresses

from hypothesis import given, settings
from hypothesis import strategies as st

from confide.messaging.transports import Envelope, email_bytes, from_header_line, message_id

ADDRESS = "sam.jones@example.org"
FROM = "Confide Tracing <no-reply@confide.example>"
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=400)


def parsed(subject: str, body: str, *, sender: str = FROM) -> email.message.EmailMessage:
    envelope = Envelope(
        channel="email", recipient=ADDRESS, subject=subject, body=body, reference="ref-1"
    )
    raw = email_bytes(envelope, address=ADDRESS, from_header=from_header_line(sender))
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")), "a line longer than RFC 5322"
    assert b"\n" not in raw.replace(b"\r\n", b""), "a bare line feed"
    # As a receiving server stores it: the wire's CRLF becomes the local line ending.
    message = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


@settings(max_examples=300)
@given(subject=text, body=text)
def test_any_subject_and_body_read_back_with_one_recipient_and_no_other_header(
    subject: str, body: str
) -> None:
    message = parsed(subject, body)

    assert getaddresses(message.get_all("To", [])) == [("", ADDRESS)]
    assert message.get_all("Cc") is None
    assert message.get_all("Bcc") is None
    assert sorted(message.keys()) == sorted(
        [
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "MIME-Version",
            "Content-Type",
            "Content-Transfer-Encoding",
        ]
    )
    assert message["Subject"] == " ".join(subject.split())
    expected_body = body.replace("\r\n", "\n").replace("\r", "\n")
    content = message.get_content()
    assert content.rstrip("\n") == expected_body.rstrip("\n")
    assert message["Message-ID"] == message_id("ref-1")


def test_a_subject_that_tries_to_add_a_header_stays_one_subject_line() -> None:
    message = parsed("Hello\r\nBcc: everyone@example.org\r\n", "Body")

    assert message.get_all("Bcc") is None
    assert message["Subject"] == "Hello Bcc: everyone@example.org"


def test_a_welsh_subject_and_sender_name_are_encoded_and_read_back() -> None:
    message = parsed("Hunanynysu: eich cyngor chi ŵŷ", "Diolch", sender="Olrhain ŵ <a@b.example>")

    assert message["Subject"] == "Hunanynysu: eich cyngor chi ŵŷ"
    assert getaddresses([message["From"]]) == [("Olrhain ŵ", "a@b.example")]
    assert message.get_content().rstrip("\n") == "Diolch"
