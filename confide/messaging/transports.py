"""Transports: how a rendered message leaves — SMTP (Django), GOV.UK Notify, or files for the demo.

Each takes an `Envelope`, which holds exactly one recipient by construction, and raises
`TemporaryFailure` (retry later) or `PermanentFailure` (stop; show the tracer).
"""

from __future__ import annotations

import binascii
import contextlib
import json
import re
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import formataddr, formatdate, getaddresses, parseaddr
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from django.conf import settings
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail import get_connection
from django.utils import timezone

from confide.messaging.guard import record_blocked_send, sms_recipient_problem
from confide.messaging.models import Channel


class TemporaryFailure(Exception):
    """Try again later. `connection` is True when the provider itself was unreachable."""

    def __init__(self, reason: str, *, connection: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:200]
        self.connection = connection


class PermanentFailure(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:200]


@dataclass(frozen=True)
class Envelope:
    """A rendered message for one recipient. `reference` is stable across attempts."""

    channel: str
    recipient: str
    subject: str
    body: str
    reference: str


def _nothing() -> None:
    return None


class Transport(Protocol):
    channel: str

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def send(self, envelope: Envelope, *, before_handover: Callable[[], None] = ...) -> str:
        """Send and return the provider's reference, or raise a failure.

        `before_handover` is called once, just before the point after which the provider may
        have the message (DATA on SMTP; the request itself elsewhere) — dispatch waits there
        for the previous message's outcome to be committed, so never more than one message is
        with the provider without its outcome recorded.
        """
        ...


class RateLimiter:
    """At most `per_second` sends from this process (a provider's limit divided by workers)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            time.sleep(delay)


def message_id(reference: str) -> str:
    return f"<{reference}@{settings.CONFIDE_MESSAGE_ID_DOMAIN}>"


def _smtp_failure(exc: Exception) -> TemporaryFailure | PermanentFailure:
    """SMTP replies: 5xx is permanent for this message, 4xx and lost connections are not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        code = min(codes) if codes else 450
        if code >= 500:
            return PermanentFailure(f"SMTP {code}: recipient refused")
        return TemporaryFailure(f"SMTP {code}: recipient deferred")
    if isinstance(exc, smtplib.SMTPResponseException):
        if exc.smtp_code >= 500:
            return PermanentFailure(f"SMTP {exc.smtp_code}: refused")
        return TemporaryFailure(f"SMTP {exc.smtp_code}: deferred", connection=exc.smtp_code == 421)
    return TemporaryFailure(f"SMTP connection: {type(exc).__name__}", connection=True)


class DjangoEmailTransport:
    """Email through Django's mail stack, and so through OneRecipientEmailBackend."""

    channel: str = Channel.EMAIL

    def __init__(self) -> None:
        self.connection: Any = None

    def __enter__(self) -> Self:
        self.connection = get_connection(fail_silently=False)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close()

    def _close(self) -> None:
        if self.connection is not None:
            # The connection is being thrown away; a failure to close it politely changes nothing.
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.connection.close()

    def send(self, envelope: Envelope, *, before_handover: Callable[[], None] = _nothing) -> str:
        email = DjangoEmailMessage(
            subject=envelope.subject,
            body=envelope.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[envelope.recipient],
            headers={"Message-ID": message_id(envelope.reference)},
        )
        try:
            self.connection.open()  # no-op once open: one connection for the whole batch
            before_handover()
            sent = self.connection.send_messages([email])
        except (OSError, smtplib.SMTPException) as exc:
            self._close()  # Django's backend may hold a broken socket; the next send reopens
            raise _smtp_failure(exc) from exc
        if sent != 1:
            raise PermanentFailure("refused by the one-recipient rule")
        return message_id(envelope.reference)


def check_one_email_address(recipient: str) -> str:
    """The email side of the one-recipient rule for our own SMTP transport: exactly one
    address, no second address hidden in a display name, no header injection."""
    found = getaddresses([recipient])
    if (
        len(found) != 1
        or not found[0][1]
        or "@" in found[0][0]
        or any(c in recipient for c in "\r\n,;")
    ):
        record_blocked_send(
            channel=Channel.EMAIL, recipient_count=max(2, len(found)), reason="not one address"
        )
        raise PermanentFailure("refused by the one-recipient rule")
    return found[0][1]


_FIXED_HEADERS = (
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: text/plain; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\n"
)
_PLAIN_SUBJECT_LIMIT = 78 - len("Subject: ")  # RFC 5322 2.1.1: lines SHOULD fit in 78


def _subject_line(subject: str) -> bytes:
    # One line whatever the template produced: a line break here could start a new header.
    single = " ".join(subject.split())
    if single.isascii() and len(single) <= _PLAIN_SUBJECT_LIMIT:
        return b"Subject: " + single.encode("ascii") + b"\r\n"
    folded = Header(single, "utf-8", header_name="Subject").encode(linesep="\r\n")
    return b"Subject: " + folded.encode("ascii") + b"\r\n"


def email_bytes(envelope: Envelope, *, address: str, from_header: bytes) -> bytes:
    """The bytes of a plain-text email to one ASCII address, written directly.

    The standard library's email package spends longer building a message (header objects,
    folding, a generator) than a nearby SMTP server spends receiving it, which made it the
    largest cost of a send. A plain-text message with eight headers is simple enough to write
    out, and the tests parse what this writes with the standard library (hypothesis, any
    subject and body) to prove the two agree. Only the subject needs encoding, and that goes
    through email.header when it is not short ASCII. `address` is one checked addr-spec.
    """
    body = envelope.body.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(body, istext=True).replace(b"\n", b"\r\n")
    return b"".join(
        (
            from_header,
            b"To: ",
            address.encode("ascii"),
            b"\r\n",
            _subject_line(envelope.subject),
            b"Date: ",
            formatdate(localtime=False).encode("ascii"),
            b"\r\nMessage-ID: ",
            message_id(envelope.reference).encode("ascii"),
            b"\r\n",
            _FIXED_HEADERS,
            b"\r\n",
            encoded,
            b"" if encoded.endswith(b"\r\n") else b"\r\n",
        )
    )


def from_header_line(from_email: str) -> bytes:
    name, address = parseaddr(from_email)
    return b"From: " + formataddr((name, address), charset="utf-8").encode("ascii") + b"\r\n"


class SmtpTransport:
    """Email straight over smtplib, one connection for a whole dispatch pass.

    Django's SMTP backend (which every *other* email in the process goes through, guarded by
    OneRecipientEmailBackend) builds each message through several layers of header handling
    that cost more per message than the SMTP exchange itself on a fast link; this transport
    writes the message itself (`email_bytes`) and applies the same rule: an Envelope holds one
    recipient, and `check_one_email_address` refuses anything else.
    """

    channel: str = Channel.EMAIL

    def __init__(self) -> None:
        self.client: smtplib.SMTP | None = None
        self.sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
        self.from_header = from_header_line(settings.DEFAULT_FROM_EMAIL)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close()

    def _connect(self) -> smtplib.SMTP:
        if self.client is None:
            factory = smtplib.SMTP_SSL if settings.EMAIL_USE_SSL else smtplib.SMTP
            client = factory(
                settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=settings.EMAIL_TIMEOUT
            )
            if settings.EMAIL_USE_TLS:
                client.starttls()
            if settings.EMAIL_HOST_USER:
                client.login(settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD)
            client.ehlo_or_helo_if_needed()
            self.client = client
        return self.client

    def _close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.client.quit()
            self.client = None

    def _transmit(self, address: str, payload: bytes, before_handover: Callable[[], None]) -> None:
        """MAIL, RCPT, DATA with smtplib's own replies and errors, as `sendmail` does, minus
        its re-parsing of both (already checked) addresses with email.utils on every call."""
        client = self._connect()
        code, reply = client.docmd("mail", f"FROM:<{self.sender}>")
        if code != 250:
            client.rset()
            raise smtplib.SMTPSenderRefused(code, reply, self.sender)
        code, reply = client.docmd("rcpt", f"TO:<{address}>")
        if code not in (250, 251):
            client.rset()
            raise smtplib.SMTPRecipientsRefused({address: (code, reply)})
        before_handover()
        code, reply = client.data(payload)
        if code != 250:
            client.rset()
            raise smtplib.SMTPDataError(code, reply)

    def send(self, envelope: Envelope, *, before_handover: Callable[[], None] = _nothing) -> str:
        address = check_one_email_address(envelope.recipient)
        try:
            if address.isascii():
                self._transmit(
                    address,
                    email_bytes(envelope, address=address, from_header=self.from_header),
                    before_handover,
                )
            else:  # an internationalised address: the standard library's SMTPUTF8 path
                before_handover()
                self._connect().send_message(
                    self._stdlib_message(envelope, address), self.sender, [address]
                )
        except (OSError, smtplib.SMTPException) as exc:
            self._close()  # the next send reconnects
            raise _smtp_failure(exc) from exc
        return message_id(envelope.reference)

    def _stdlib_message(self, envelope: Envelope, address: str) -> EmailMessage:
        email = EmailMessage(policy=SMTPUTF8)
        email["From"] = settings.DEFAULT_FROM_EMAIL
        email["To"] = address
        email["Subject"] = " ".join(envelope.subject.split())
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = message_id(envelope.reference)
        email.set_content(envelope.body, cte="quoted-printable")
        return email


class FileSmsTransport:
    """Texts written as JSON lines to a file: the demo's and the tests' SMS provider."""

    channel: str = Channel.SMS

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path or settings.CONFIDE_SMS_FILE_PATH)

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def send(self, envelope: Envelope, *, before_handover: Callable[[], None] = _nothing) -> str:
        check_one_phone_number(envelope.recipient)
        before_handover()
        line = json.dumps(
            {
                "to": envelope.recipient,
                "body": envelope.body,
                "reference": envelope.reference,
                "at": timezone.now().isoformat(),
            }
        )
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        return envelope.reference


def check_one_phone_number(to: object) -> None:
    """The SMS side of the one-recipient rule; every SMS transport calls it before sending."""
    problem = sms_recipient_problem(to)
    if problem is not None:
        numbers = len(re.findall(r"\d{7,}", str(to)))
        count = len(to) if isinstance(to, list | tuple) else max(2, numbers)
        record_blocked_send(channel=Channel.SMS, recipient_count=count, reason=problem)
        raise PermanentFailure("refused by the one-recipient rule")


class NotifyTransport:
    """GOV.UK Notify: we render locally and send through one generic Notify template whose
    content is ((subject)) and ((body)), so template versions and Welsh stay in Confide."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.client: Any = None

    def __enter__(self) -> Self:
        from notifications_python_client.notifications import NotificationsAPIClient

        self.client = NotificationsAPIClient(
            settings.CONFIDE_NOTIFY_API_KEY, base_url=settings.CONFIDE_NOTIFY_BASE_URL
        )
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def send(self, envelope: Envelope, *, before_handover: Callable[[], None] = _nothing) -> str:
        from notifications_python_client.errors import HTTPError
        from requests import RequestException

        if self.channel == Channel.SMS:
            check_one_phone_number(envelope.recipient)
        before_handover()
        try:
            if self.channel == Channel.SMS:
                response = self.client.send_sms_notification(
                    phone_number=envelope.recipient,
                    template_id=settings.CONFIDE_NOTIFY_SMS_TEMPLATE_ID,
                    personalisation={"body": envelope.body},
                    reference=envelope.reference,
                )
            else:
                response = self.client.send_email_notification(
                    email_address=envelope.recipient,
                    template_id=settings.CONFIDE_NOTIFY_EMAIL_TEMPLATE_ID,
                    personalisation={"subject": envelope.subject, "body": envelope.body},
                    reference=envelope.reference,
                )
        except HTTPError as exc:
            status = int(getattr(exc, "status_code", 0) or 0)
            if status == 429 or status >= 500:
                raise TemporaryFailure(f"Notify {status}", connection=status >= 500) from exc
            raise PermanentFailure(f"Notify {status}") from exc
        except RequestException as exc:
            raise TemporaryFailure(
                f"Notify connection: {type(exc).__name__}", connection=True
            ) from exc
        return str(response["id"])


def transport_for(channel: str) -> Transport:
    """The configured transport for a channel (settings.CONFIDE_*_TRANSPORT)."""
    if channel == Channel.EMAIL:
        if settings.CONFIDE_EMAIL_TRANSPORT == "notify":
            return NotifyTransport(Channel.EMAIL)
        if settings.CONFIDE_EMAIL_TRANSPORT == "smtp":
            return SmtpTransport()
        return DjangoEmailTransport()  # file or console: the demo's and developers' mail
    if channel == Channel.SMS:
        if settings.CONFIDE_SMS_TRANSPORT == "notify":
            return NotifyTransport(Channel.SMS)
        return FileSmsTransport()
    raise PermanentFailure(f"No transport for {channel}: letters are printed from the print queue")
