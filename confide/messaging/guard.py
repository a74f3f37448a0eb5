"""The one-recipient rule, checked where mail and texts leave the process.

Every email Confide or any library sends goes through Django's email machinery, whose backend is
`OneRecipientEmailBackend`; every text goes through an `SmsTransport` whose `send` takes one
number. Both call these checks, record a refused send as a `BlockedSend` near miss and send
nothing: the 2020 CC-instead-of-BCC email cannot leave.
"""

from __future__ import annotations

import logging
import re
import sys
from email.utils import getaddresses

from django.conf import settings
from django.core.mail import EmailMessage

from confide.messaging.models import BlockedSend, Channel

logger = logging.getLogger("confide.messaging")

# Headers that name recipients, or would show another address to the recipient.
RECIPIENT_HEADERS = frozenset(
    {
        "to",
        "cc",
        "bcc",
        "resent-to",
        "resent-cc",
        "resent-bcc",
        "apparently-to",
        "envelope-to",
        "x-original-to",
        "delivered-to",
        "disposition-notification-to",
        "return-receipt-to",
        "mail-followup-to",
        "mail-reply-to",
    }
)
_PHONE_SEPARATORS = re.compile(r"[,;/\n]")


def _addresses(values: list[str]) -> list[str]:
    return [address for _name, address in getaddresses(values) if address]


def email_recipient_problem(message: EmailMessage) -> str | None:
    """Why this email may not be sent, or None when it has exactly one recipient."""
    recipients = _addresses([str(r) for r in message.recipients()])
    if len(recipients) != 1 or len(message.recipients()) != 1:
        return f"{len(recipients)} recipients across To, Cc and Bcc; exactly one is allowed"
    named = getaddresses([str(r) for r in [*message.recipients(), *message.reply_to]])
    if any("@" in name for name, _address in named):
        return "a display name carries an email address, which the recipient would see"
    smuggled = sorted(h for h in message.extra_headers if h.lower() in RECIPIENT_HEADERS)
    if smuggled:
        return f"recipient headers set directly: {', '.join(smuggled)}"
    allowed_reply_to = {a.lower() for a in settings.CONFIDE_REPLY_TO_ADDRESSES}
    reply_to = _addresses([str(r) for r in message.reply_to])
    reply_to += _addresses(
        [str(v) for h, v in message.extra_headers.items() if h.lower() == "reply-to"]
    )
    if any(address.lower() not in allowed_reply_to for address in reply_to):
        return "Reply-To names an address that is not one of the service's own mailboxes"
    senders = _addresses([str(message.from_email or settings.DEFAULT_FROM_EMAIL)])
    senders += _addresses([str(v) for h, v in message.extra_headers.items() if h.lower() == "from"])
    allowed_senders = {a.lower() for a in _addresses(list(settings.CONFIDE_ALLOWED_SENDERS))}
    if any(address.lower() not in allowed_senders for address in senders):
        return "From is not one of the service's own sending addresses"
    return None


def sms_recipient_problem(to: object) -> str | None:
    if not isinstance(to, str):
        return "a text message takes one phone number, not a list"
    digits = re.sub(r"\D", "", to)
    # E.164 allows at most 15 digits: more means two numbers run together.
    if _PHONE_SEPARATORS.search(to) or to.count("+") > 1 or len(digits) > 15:
        return "more than one phone number in the recipient"
    return None


def _origin() -> str:
    """The first frame outside the mail machinery: the code that tried to send."""
    frame = sys._getframe(1)
    skip = (
        "django.core.mail",
        "confide.messaging.guard",
        "confide.messaging.backends",
        "confide.messaging.transports",
    )
    while frame is not None:
        module = frame.f_globals.get("__name__", "?")
        if not module.startswith(skip):
            return f"{module}:{frame.f_code.co_name}:{frame.f_lineno}"[:300]
        frame = frame.f_back  # type: ignore[assignment]
    return "unknown"


def record_blocked_send(*, channel: str, recipient_count: int, reason: str) -> BlockedSend:
    origin = _origin()
    logger.warning(
        "Blocked a %s to %d recipients from %s: %s", channel, recipient_count, origin, reason
    )
    from confide.privacy.context import current_actor

    return BlockedSend.objects.create(
        channel=channel,
        recipient_count=recipient_count,
        reason=reason[:300],
        origin=origin,
        actor=current_actor(),
    )


__all__ = ["Channel", "email_recipient_problem", "record_blocked_send", "sms_recipient_problem"]
