"""The GOV.UK Notify transport, against a loopback HTTP server that answers as Notify's API does.

Notify itself cannot run here; this server speaks its documented request and response shapes,
so the real notifications-python-client, its authentication and our error mapping are exercised.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from confide.messaging.transports import (
    Envelope,
    NotifyTransport,
    PermanentFailure,
    TemporaryFailure,
)

SERVICE_ID = str(uuid.uuid4())
SECRET = str(uuid.uuid4())


class FakeNotify(BaseHTTPRequestHandler):
    status = 201
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeNotify.received.append(
            {"path": self.path, "auth": self.headers["Authorization"], **body}
        )
        payload = (
            {"id": str(uuid.uuid4()), "reference": body.get("reference")}
            if self.status == 201
            else {"status_code": self.status, "errors": [{"error": "Error", "message": "no"}]}
        )
        raw = json.dumps(payload).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def notify(settings) -> Iterator[type[FakeNotify]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNotify)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.CONFIDE_NOTIFY_API_KEY = f"confide_test-{SERVICE_ID}-{SECRET}"
    settings.CONFIDE_NOTIFY_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.CONFIDE_NOTIFY_EMAIL_TEMPLATE_ID = str(uuid.uuid4())
    settings.CONFIDE_NOTIFY_SMS_TEMPLATE_ID = str(uuid.uuid4())
    FakeNotify.status = 201
    FakeNotify.received = []
    yield FakeNotify
    server.shutdown()


def _envelope(channel: str, recipient: str) -> Envelope:
    return Envelope(
        channel=channel,
        recipient=recipient,
        subject="You need to self-isolate",
        body="Dear Sam, ...",
        reference=str(uuid.uuid4()),
    )


def test_an_email_goes_to_notify_with_our_reference_and_one_address(notify) -> None:
    envelope = _envelope("email", "sam@example.com")

    with NotifyTransport("email") as transport:
        provider_id = transport.send(envelope)

    (request,) = notify.received
    assert request["path"] == "/v2/notifications/email"
    assert request["email_address"] == "sam@example.com"
    assert request["reference"] == envelope.reference
    assert request["personalisation"] == {"subject": envelope.subject, "body": envelope.body}
    assert request["auth"].startswith("Bearer ")
    assert provider_id


def test_a_text_goes_to_notify_for_one_number(notify) -> None:
    with NotifyTransport("sms") as transport:
        transport.send(_envelope("sms", "+447700900123"))

    (request,) = notify.received
    assert request["path"] == "/v2/notifications/sms"
    assert request["phone_number"] == "+447700900123"


@pytest.mark.django_db
def test_a_text_to_two_numbers_never_reaches_notify(notify) -> None:
    with NotifyTransport("sms") as transport, pytest.raises(PermanentFailure):
        transport.send(_envelope("sms", "+447700900123, +447700900124"))

    assert notify.received == []


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_temporary(notify, status: int) -> None:
    notify.status = status

    with NotifyTransport("email") as transport, pytest.raises(TemporaryFailure):
        transport.send(_envelope("email", "sam@example.com"))


def test_a_bad_request_is_permanent(notify) -> None:
    notify.status = 400

    with NotifyTransport("email") as transport, pytest.raises(PermanentFailure, match="400"):
        transport.send(_envelope("email", "sam@example.com"))


def test_notify_out_of_reach_is_temporary(settings) -> None:
    settings.CONFIDE_NOTIFY_API_KEY = f"confide_test-{SERVICE_ID}-{SECRET}"
    settings.CONFIDE_NOTIFY_BASE_URL = "http://127.0.0.1:9"  # discard port: nothing listens

    with NotifyTransport("email") as transport, pytest.raises(TemporaryFailure):
        transport.send(_envelope("email", "sam@example.com"))
