"""Telling a contact to self-isolate: one message, to them alone, about them alone.

The personalisation is built from the contact's own record and their exposure's dates only;
the case is never read here, so no field of theirs can reach the message.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver
from django.utils import translation
from django.utils.formats import date_format

from confide.messaging.models import Channel, Message, MessageState
from confide.messaging.services import Addressee, current_template, queue_message
from confide.messaging.signals import message_state_changed
from confide.messaging.template_types import TemplateKind
from confide.people.details import PersonDetails
from confide.people.models import SafeguardingKind
from confide.people.selectors import active_safeguarding, person_details, person_read
from confide.privacy.audit import record_access
from confide.tracing.models import Exposure, NotificationState


def contact_notification_personalisation(
    *, exposure: Exposure, contact: PersonDetails, language: str, own_page_link: str
) -> dict[str, str]:
    """`own_page_link` is the contact's own self-service link (confide.public): their advice,
    check-in and support, behind their own verification; it says nothing of the case."""
    with translation.override(language):
        ends_on = date_format(exposure.isolation_ends_on, "l j F Y")
    return {
        "first_name": contact.given_name,
        "isolation_ends_on": ends_on,
        "support_link": own_page_link,
    }


def written_channel(contact: PersonDetails, flags: set[str]) -> tuple[str, str] | None:
    """The first written channel the person can be reached on that safeguarding allows."""
    if SafeguardingKind.PHONE_ONLY in flags:
        return None
    if contact.email:
        return Channel.EMAIL, contact.email
    if contact.phone:
        return Channel.SMS, contact.phone
    no_letters = {SafeguardingKind.NO_LETTERS, SafeguardingKind.DO_NOT_DISCLOSE_ADDRESS}
    if contact.address and not flags & no_letters:
        return Channel.LETTER, f"{contact.address}\n{contact.postcode}".strip()
    return None


def notify_contact(*, exposure: Exposure) -> Message | None:
    """Queue the contact's notification. With no written channel we may use (no details, or a
    safeguarding flag), a call handler is asked to phone them instead, and None is returned."""
    contact = exposure.contact
    # The read is logged last, in the caller's transaction: the access log's head stays locked
    # from an append until the commit, so appending last holds it for the shortest time.
    details = person_details(contact)
    read = person_read(contact, by=None, purpose="notify a contact to self-isolate")
    route = written_channel(details, active_safeguarding(contact))
    if route is None:
        if details.phone:
            from confide.workqueue.services import enqueue_contact_call

            enqueue_contact_call(exposure=exposure, reason="no written channel: phone them")
        record_access(read)
        return None
    channel, recipient = route
    language = contact.preferred_language
    template = current_template(
        kind=TemplateKind.CONTACT_NOTIFICATION, channel=channel, language=language
    )
    from confide.public.links import issue_contact_link

    with transaction.atomic(savepoint=False):  # all or nothing with the caller's transaction
        own_page = issue_contact_link(exposure=exposure)
        message = queue_message(
            template=template,
            to=Addressee.for_person(contact),
            recipient=recipient,
            personalisation=contact_notification_personalisation(
                exposure=exposure,
                contact=details,
                language=template.language,
                own_page_link=own_page.url,
            ),
        )
        exposure.notification_message = message
        exposure.notification_state = NotificationState.QUEUED
        exposure.save(update_fields=["notification_message", "notification_state"])
        record_access(read)
    return message


_STATE_FROM_MESSAGE: dict[str, str] = {
    MessageState.SENT: NotificationState.SENT,
    MessageState.DELIVERED: NotificationState.SENT,
    MessageState.FAILED_PERMANENT: NotificationState.FAILED,
}


@receiver(message_state_changed)
def follow_message_state(
    sender: Any, *, message_id: int, state: str, person_id: int | None = None, **kwargs: Any
) -> None:
    """A failed notification shows on the tracer's view of the exposure."""
    if person_id is None:
        return  # a message to staff: no exposure can follow it
    if state in _STATE_FROM_MESSAGE:
        Exposure.objects.filter(notification_message_id=message_id).update(
            notification_state=_STATE_FROM_MESSAGE[state]
        )
    if state == MessageState.FAILED_PERMANENT:
        from confide.workqueue.services import enqueue_contact_call

        for exposure in Exposure.objects.filter(notification_message_id=message_id):
            enqueue_contact_call(exposure=exposure, reason="notification could not be delivered")
