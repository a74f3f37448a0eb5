"""The installed Django email backend: refuses any email with more than one recipient."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend

from confide.messaging.guard import email_recipient_problem, record_blocked_send
from confide.messaging.models import Channel


class OneRecipientEmailBackend(BaseEmailBackend):
    """Wraps the real transport (settings.CONFIDE_EMAIL_TRANSPORT_BACKEND).

    A refused message is recorded as a near miss and skipped; it never reaches the transport.
    `send_messages` returns the number actually sent, so a caller sees 0 for a refused message.
    """

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently)
        self.transport = get_connection(
            settings.CONFIDE_EMAIL_TRANSPORT_BACKEND, fail_silently=fail_silently, **kwargs
        )

    def open(self) -> bool | None:
        return self.transport.open()

    def close(self) -> None:
        self.transport.close()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        permitted = []
        for message in email_messages:
            problem = email_recipient_problem(message)
            if problem is None:
                permitted.append(message)
            else:
                record_blocked_send(
                    channel=Channel.EMAIL,
                    recipient_count=len(message.recipients()),
                    reason=problem,
                )
        if not permitted:
            return 0
        return int(self.transport.send_messages(permitted) or 0)
