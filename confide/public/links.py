"""Self-service links: issued to a new case (to give contacts) and to each contact (their page).

A token is 32 random bytes from `secrets`; only its SHA-256 is stored, so a database dump gives
nobody a working link. A case link is spent once the case submits; a contact link lasts to the
end of their isolation. Staff can revoke either.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import cast

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import date_format

from confide.bulk import insert_rows
from confide.cases.models import Case
from confide.messaging.models import Channel, Message, MessageTemplate
from confide.messaging.services import NoTemplate, current_template
from confide.messaging.template_types import TEMPLATE_TYPES, TemplateKind
from confide.people.details import PersonDetails
from confide.people.selectors import person_details, safeguarding_of
from confide.privacy.audit import Access, append_accesses, record_accesses
from confide.privacy.crypto import SubjectKey, unwrap_data_key
from confide.privacy.models import AccessAction
from confide.public.models import LinkKind, SelfServiceLink
from confide.staff.models import StaffMember
from confide.tracing.models import Exposure
from confide.workqueue.models import WorkItem, WorkKind, WorkState

TOKEN_BYTES = 32


def self_service_window() -> timedelta:
    """How long a new case has to give their contacts online before a tracer calls them."""
    return timedelta(hours=int(getattr(settings, "CONFIDE_SELF_SERVICE_HOURS", 24)))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def link_url(token: str) -> str:
    return f"{settings.CONFIDE_PUBLIC_BASE_URL}/p/{token}/"


def _end_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


@dataclass(frozen=True)
class IssuedLink:
    link: SelfServiceLink
    token: str  # exists only here, in memory, to go into the person's message

    @property
    def url(self) -> str:
        return link_url(self.token)


SELF_SERVICE_PERSONALISATION = frozenset({"first_name", "self_service_link", "link_expires_on"})
# As json.dumps(..., sort_keys=True) writes it, without making an encoder per message.
_PERSONALISATION_JSON = json.JSONEncoder(sort_keys=True)


def _new_link(**fields: object) -> IssuedLink:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return IssuedLink(SelfServiceLink(token_hash=token_hash(token), **fields), token)


def issue_contact_link(*, exposure: Exposure) -> IssuedLink:
    """A link to the contact's own page, valid to the end of their isolation."""
    issued = _new_link(
        kind=LinkKind.CONTACT,
        person_id=exposure.contact_id,
        exposure=exposure,
        expires_at=_end_of_day(exposure.isolation_ends_on),
    )
    issued.link.save(force_insert=True)
    return issued


def case_link_expires_at(now: datetime) -> datetime:
    """The end of the day the self-service window closes (the message gives a date, not a time)."""
    return _end_of_day(timezone.localdate(now + self_service_window()))


@dataclass(frozen=True)
class NewCaseSubject:
    """A new case and what its link needs of the person, held in memory by the caller: an
    import has just validated the details and sealed them under `key`, so nothing is read
    back or decrypted again."""

    case_id: int
    case_reference: uuid.UUID
    person_id: int
    person_reference: uuid.UUID
    preferred_language: str
    key: SubjectKey
    details: PersonDetails


def offer_self_service(*, cases: Sequence[Case], now: datetime | None = None) -> list[Message]:
    """For each new case: a link and its own CASE_SELF_SERVICE message, in the caller's
    transaction, and their interview held back for the self-service window so nobody is
    called while filling in the form. A case we cannot write to (no email or phone, or a
    safeguarding flag) gets no link: their interview stays in the queue as it is."""
    offered = offer_self_service_to(subjects=subjects_of(cases), now=now)
    return list(Message.objects.filter(pk__in=offered.message_ids).order_by("pk"))


def subjects_of(cases: Sequence[Case]) -> list[NewCaseSubject]:
    """What `offer_self_service_to` needs of cases read from the database (each person's
    details decrypted; `select_related("person__data_key")` saves a query per case)."""
    subjects = []
    for case in cases:
        person = case.person
        details = person_details(person)
        subjects.append(
            NewCaseSubject(
                case_id=case.pk,
                case_reference=case.reference,
                person_id=person.pk,
                person_reference=person.reference,
                preferred_language=person.preferred_language,
                key=unwrap_data_key(person.data_key),
                details=details,
            )
        )
    return subjects


@dataclass(frozen=True)
class SelfServiceOffered:
    """What `offer_self_service_to` queued: the messages, and the cases given a link (whose
    interviews are held back for the self-service window)."""

    message_ids: list[int]
    case_ids: list[int]


def offer_self_service_to(
    *,
    subjects: Sequence[NewCaseSubject],
    now: datetime | None = None,
    hold_interviews: bool = True,
) -> SelfServiceOffered:
    """`offer_self_service` for cases whose details and data key the caller holds.

    Ingest calls this for every case a batch opens, so the work is per batch, not per case:
    one query for safeguarding flags, one per channel and language for templates, and one
    insert each of links, messages and access log entries, written as rows (`confide.bulk`).
    With `hold_interviews=False` the caller holds back the interviews of `case_ids` itself
    (an import queues them held, rather than queueing and then updating them)."""
    from confide.tracing.notifications import written_channel

    now = now or timezone.now()
    expires_at = case_link_expires_at(now)
    flags = safeguarding_of([subject.person_id for subject in subjects])
    templates: dict[tuple[str, str], MessageTemplate | None] = {}
    expiry_wording: dict[str, str] = {}
    accesses: list[Access] = []
    links: list[dict[str, object]] = []
    messages: list[dict[str, object]] = []
    for subject in subjects:
        accesses.append(
            Access(
                action=AccessAction.VIEW,
                purpose="send a new case their self-service link",
                subject_reference=subject.person_reference,
                object_type="case",
                object_reference=str(subject.case_reference),
            )
        )
        route = written_channel(subject.details, flags.get(subject.person_id, set()))
        if route is None or route[0] == Channel.LETTER:
            continue  # a letter would arrive after the window: the tracer calls instead
        channel, recipient = route
        wanted = (channel, subject.preferred_language)
        if wanted not in templates:  # one lookup per channel and language, not per case
            templates[wanted] = _self_service_template(channel, subject.preferred_language)
        template = templates[wanted]
        if template is None:
            continue
        if template.language not in expiry_wording:
            with translation.override(template.language):
                expiry_wording[template.language] = date_format(
                    timezone.localdate(expires_at - timedelta(seconds=1)), "l j F Y"
                )
        token = secrets.token_urlsafe(TOKEN_BYTES)
        links.append(
            {
                "kind": LinkKind.CASE,
                "token_hash": token_hash(token),
                "person_id": subject.person_id,
                "case_id": subject.case_id,
                "expires_at": expires_at,
            }
        )
        personalisation = {
            "first_name": subject.details.given_name,
            "self_service_link": link_url(token),
            "link_expires_on": expiry_wording[template.language],
        }
        # As messaging.services.build_message seals them; the recipient is from details
        # already validated (an import's, or our own sealed store's).
        messages.append(
            {
                "channel": template.channel,
                "template_id": template.pk,
                "person_id": subject.person_id,
                "data_key_id": subject.key.data_key_id,
                "recipient_sealed": subject.key.seal("message.recipient", recipient),
                "personalisation_sealed": subject.key.seal(
                    "message.personalisation", _PERSONALISATION_JSON.encode(personalisation)
                ),
                "next_attempt_at": now,
            }
        )
    case_ids = [cast(int, link["case_id"]) for link in links]
    with transaction.atomic():
        insert_rows(SelfServiceLink, links)
        message_ids = insert_rows(Message, messages)
        append_accesses(accesses)
        if hold_interviews and case_ids:
            WorkItem.objects.filter(
                kind=WorkKind.CASE_INTERVIEW, case_id__in=case_ids, state=WorkState.WAITING
            ).update(available_at=now + self_service_window())
        if messages:
            from confide.messaging.tasks import dispatch_messages

            transaction.on_commit(lambda: dispatch_messages.enqueue(), robust=True)
    return SelfServiceOffered(message_ids=message_ids, case_ids=case_ids)


def _self_service_template(channel: str, language: str) -> MessageTemplate | None:
    try:
        template = current_template(
            kind=TemplateKind.CASE_SELF_SERVICE, channel=channel, language=language
        )
    except NoTemplate:
        return None
    # What offer_self_service_to personalises must be exactly what the kind declares, as
    # build_message checks per message.
    if TEMPLATE_TYPES[template.kind].fields != SELF_SERVICE_PERSONALISATION:
        raise ValueError(f"{template.kind} takes {sorted(TEMPLATE_TYPES[template.kind].fields)}")
    return template


class LinkUnusable(Exception):
    """The link is unknown, expired, spent, revoked or locked. The page says only that."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # for tests and logs (never shown: it would confirm a link exists)


def usable_link(token: str, *, now: datetime | None = None) -> SelfServiceLink:
    now = now or timezone.now()
    if not token or len(token) > 100:
        raise LinkUnusable("unknown")
    link = (
        SelfServiceLink.objects.select_related("person__data_key", "case", "exposure")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if link is None:
        raise LinkUnusable("unknown")
    check_usable(link, now=now)
    return link


def check_usable(link: SelfServiceLink, *, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if link.revoked_at is not None:
        raise LinkUnusable("revoked")
    if link.spent_at is not None:
        raise LinkUnusable("spent")
    if link.locked_at is not None:
        raise LinkUnusable("locked")
    if link.expires_at <= now:
        raise LinkUnusable("expired")
    if link.person.erased_at is not None:
        raise LinkUnusable("erased")


def revoke_links(
    *, case: Case | None = None, exposure: Exposure | None = None, by: StaffMember
) -> int:
    """Revoke every live link for a case or an exposure (a wrong address, a complaint), logged."""
    links = SelfServiceLink.objects.filter(revoked_at__isnull=True, spent_at__isnull=True)
    if case is not None:
        links = links.filter(case=case)
        subject, object_type, reference = case.person.reference, "case", str(case.reference)
    elif exposure is not None:
        links = links.filter(exposure=exposure)
        subject, object_type, reference = exposure.contact.reference, "exposure", str(exposure.pk)
    else:
        raise ValueError("revoke_links needs a case or an exposure")
    with transaction.atomic():
        count = links.update(revoked_at=timezone.now(), revoked_by=by)
        record_accesses(
            [
                Access(
                    action=AccessAction.UPDATE,
                    purpose="revoked self-service links",
                    actor_reference=by.reference,
                    subject_reference=subject,
                    object_type=object_type,
                    object_reference=reference,
                )
            ]
        )
    return count


def forget_links(
    *, person_id: int | None, case_ids: Sequence[int], exposure_ids: Sequence[int]
) -> int:
    """Delete the links (and with them any draft) of records the retention sweep erases or
    anonymises — all of an erased person's (`person_id`), or those of the given cases and
    exposures — so no link row keeps pointing at the person. Returns how many were deleted."""
    which = Q(case_id__in=case_ids) | Q(exposure_id__in=exposure_ids)
    if person_id is not None:
        which |= Q(person_id=person_id)
    deleted, _ = SelfServiceLink.objects.filter(which).delete()
    return deleted
