"""Writes about messages: templates, queueing one message per recipient, broadcasts, purging."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Max, QuerySet
from django.db.models.base import ModelState
from django.utils import timezone

from confide.messaging.models import (
    Broadcast,
    Channel,
    Language,
    Message,
    MessageState,
    MessageTemplate,
)
from confide.messaging.template_types import TEMPLATE_TYPES, Audience, TemplateKind
from confide.messaging.templating import RenderedMessage, render, validate_template_text
from confide.people.models import Person
from confide.people.validation import normalise_email, normalise_phone
from confide.privacy.crypto import SubjectKey, unwrap_data_key
from confide.privacy.models import DataKey
from confide.staff.models import StaffMember


class NoTemplate(Exception):
    """No template exists for this kind, channel and language; a supervisor must write one."""


def save_template_version(
    *,
    kind: str,
    channel: str,
    language: str = Language.ENGLISH,
    name: str,
    subject: str,
    body: str,
    by: StaffMember | None,
) -> MessageTemplate:
    """A new version of a template (old versions stay, for the messages that used them)."""
    validate_template_text(kind=kind, subject=subject, body=body)
    if channel == Channel.EMAIL and not subject.strip():
        raise ValidationError({"subject": ["Enter a subject for the email"]})
    with transaction.atomic():
        latest = (
            MessageTemplate.objects.select_for_update()
            .filter(kind=kind, channel=channel, language=language)
            .aggregate(v=Max("version"))["v"]
        )
        return MessageTemplate.objects.create(
            kind=kind,
            channel=channel,
            language=language,
            version=(latest or 0) + 1,
            name=name,
            subject=subject,
            body=body,
            created_by=by,
        )


def current_template(
    *, kind: str, channel: str, language: str = Language.ENGLISH
) -> MessageTemplate:
    """The latest version, in the language asked for, else in English."""
    for lang in dict.fromkeys([language, Language.ENGLISH]):
        template = (
            MessageTemplate.objects.filter(kind=kind, channel=channel, language=lang)
            .order_by("-version")
            .first()
        )
        if template is not None:
            return template
    raise NoTemplate(f"No {channel} template for {kind}; add one on the templates page.")


def preview(template: MessageTemplate, values: Mapping[str, str] | None = None) -> RenderedMessage:
    """The template rendered with sample data (or the given values)."""
    sample = values if values is not None else TEMPLATE_TYPES[template.kind].sample
    return render(kind=template.kind, subject=template.subject, body=template.body, values=sample)


def normalise_recipient(channel: str, recipient: str) -> str:
    try:
        if channel == Channel.EMAIL:
            return normalise_email(recipient)
        if channel == Channel.SMS:
            return normalise_phone(recipient)
    except ValidationError as exc:
        raise ValidationError({"recipient": exc.messages}) from exc
    if not recipient.strip():
        raise ValidationError({"recipient": ["Enter the postal address"]})
    return recipient.strip()


@dataclass(frozen=True)
class Addressee:
    """Who a message is for: a person or a staff member, and their unwrapped data key."""

    key: SubjectKey
    person: Person | None = None
    staff_member: StaffMember | None = None

    @classmethod
    def for_person(cls, person: Person) -> Addressee:
        return cls(key=unwrap_data_key(person.data_key), person=person)

    @classmethod
    def for_staff(cls, member: StaffMember) -> Addressee:
        return cls(key=unwrap_data_key(member.data_key), staff_member=member)

    @property
    def data_key_id(self) -> object:
        owner = self.person or self.staff_member
        assert owner is not None
        return owner.data_key_id


def build_message(
    *,
    template: MessageTemplate,
    to: Addressee,
    recipient: str,
    personalisation: Mapping[str, str],
    broadcast: Broadcast | None = None,
    already_normalised: bool = False,
) -> Message:
    """An unsaved Message, its recipient and personalisation sealed under the recipient's key.

    Only the template kind's declared fields are accepted, so nothing else can ride along.
    """
    declared = TEMPLATE_TYPES[template.kind].fields
    if set(personalisation) != declared:
        raise ValueError(
            f"{template.kind} takes exactly {sorted(declared)}; got {sorted(personalisation)}"
        )
    audience = TEMPLATE_TYPES[template.kind].audience
    if (audience == Audience.STAFF) != (to.staff_member is not None):
        raise ValueError(f"{template.kind} messages go to {audience} only")
    # Addresses read back from our own sealed store were validated when they were saved.
    address = recipient if already_normalised else normalise_recipient(template.channel, recipient)
    message = Message(
        channel=template.channel,
        template=template,
        person=to.person,
        staff_member=to.staff_member,
        broadcast=broadcast,
        next_attempt_at=timezone.now(),
    )
    message.data_key_id = to.data_key_id  # type: ignore[assignment]
    message.recipient_sealed = to.key.seal("message.recipient", address)
    message.personalisation_sealed = to.key.seal(
        "message.personalisation", json.dumps(dict(personalisation), sort_keys=True)
    )
    return message


def _dispatch_after_commit(messages: Iterable[Message]) -> None:
    if any(m.channel in (Channel.EMAIL, Channel.SMS) for m in messages):
        _enqueue_dispatch_after_commit()


def queue_message(
    *,
    template: MessageTemplate,
    to: Addressee,
    recipient: str,
    personalisation: Mapping[str, str],
) -> Message:
    """Queue one message to one recipient, in the caller's transaction (sent after commit)."""
    message = build_message(
        template=template, to=to, recipient=recipient, personalisation=personalisation
    )
    with transaction.atomic():
        message.save(force_insert=True)
        _dispatch_after_commit([message])
    return message


# (staff member id, sealed name, sealed address, *the data key's columns in model order)
BroadcastRecipient = tuple[Any, ...]
_DATA_KEY_COLUMNS = tuple(f.attname for f in DataKey._meta.concrete_fields)


def data_key_from_columns(values: Sequence[Any]) -> DataKey:
    """The DataKey of a `broadcast_recipients` row (its columns after the first three), only to
    unwrap: Model.__init__ (signals, a loop over fields) cost more per member than the unwrap
    itself, so the instance is filled as `from_db` would leave it, without running it."""
    key = DataKey.__new__(DataKey)
    key.__dict__.update(zip(_DATA_KEY_COLUMNS, values, strict=True))
    key._state = ModelState()
    key._state.adding = False
    return key


def broadcast_recipients(members: Iterable[StaffMember], channel: str) -> list[BroadcastRecipient]:
    """Exactly the columns a broadcast needs per member, without building member instances."""
    address = "email_sealed" if channel == Channel.EMAIL else "phone_sealed"
    if isinstance(members, QuerySet):
        return list(
            members.values_list(
                "pk",
                "display_name_sealed",
                address,
                *(f"data_key__{name}" for name in _DATA_KEY_COLUMNS),
            )
        )
    return [
        (
            m.pk,
            m.display_name_sealed,
            getattr(m, address),
            *(getattr(m.data_key, name) for name in _DATA_KEY_COLUMNS),
        )
        for m in members
    ]


def broadcast_to_staff(
    *,
    members: Iterable[StaffMember],
    group_name: str,
    template: MessageTemplate,
    sent_by: StaffMember,
) -> Broadcast:
    """One individual message per staff member; no message names anyone but its recipient.

    The same checks and sealing as `build_message`, done once per broadcast where they can be
    and written straight into rows: a Message instance per member cost more than sealing it.
    """
    if template.kind != TemplateKind.STAFF_BROADCAST:
        raise ValidationError({"template": ["Choose a staff message template"]})
    declared = TEMPLATE_TYPES[template.kind].fields
    if declared != {"first_name", "group_name"}:
        raise ValueError(f"{template.kind} now takes {sorted(declared)}; update the broadcast")
    recipients = broadcast_recipients(members, template.channel)
    if not recipients:
        raise ValidationError({"group": ["This group has nobody in it"]})
    address_field = "staff.email" if template.channel == Channel.EMAIL else "staff.phone"
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            template=template,
            group_name=group_name,
            recipient_count=len(recipients),
            sent_by=sent_by,
        )
        row = MessageRows(template=template, broadcast=broadcast)
        rows = []
        for member_id, name_sealed, address_sealed, *data_key in recipients:
            if address_sealed is None:
                continue  # no address on record for this channel; shown as a shortfall below
            key = unwrap_data_key(data_key_from_columns(data_key))
            # Addresses read back from our own sealed store were normalised when saved.
            address = key.open(address_field, address_sealed)
            name = key.open("staff.display_name", name_sealed) or ""
            personalisation = {"first_name": name.split()[0], "group_name": group_name}
            rows.append(row.to_staff(member_id, key, address or "", personalisation))
        if not rows:
            raise ValidationError(
                {"group": ["Nobody in this group has an address for this kind of message"]}
            )
        insert_message_rows(row.columns, rows)
        if len(rows) != len(recipients):
            broadcast.recipient_count = len(rows)
            broadcast.save(update_fields=["recipient_count"])
        if template.channel in (Channel.EMAIL, Channel.SMS):
            _enqueue_dispatch_after_commit()
    return broadcast


def _native_uuid(value: uuid.UUID) -> object:
    return value


def _hex_uuid(value: uuid.UUID) -> object:
    return value.hex


class MessageRows:
    """Database rows of new messages from one template, as `insert_messages` would write them
    from `build_message`'s instances (a test compares the two), built without the instances."""

    def __init__(self, *, template: MessageTemplate, broadcast: Broadcast | None) -> None:
        self.fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
        self.columns = [f.column for f in self.fields]
        prepared = {f.attname: f.get_db_prep_save(f.get_default(), connection) for f in self.fields}
        now = Message._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
        prepared.update(
            channel=template.channel,
            template_id=template.pk,
            broadcast_id=broadcast.pk if broadcast is not None else None,
            next_attempt_at=now,
            created_at=now,  # one timestamp for the whole insert, as one statement would give
        )
        self._constant = [prepared[f.attname] for f in self.fields]
        # UUIDs as Django stores them (UUIDField.get_db_prep_value), decided once per insert.
        self._uuid = _native_uuid if connection.features.has_native_uuid_field else _hex_uuid
        position = {f.attname: n for n, f in enumerate(self.fields)}
        self._at = (
            position["reference"],
            position["staff_member_id"],
            position["data_key_id"],
            position["recipient_sealed"],
            position["personalisation_sealed"],
        )

    def to_staff(
        self,
        staff_member_id: int,
        key: SubjectKey,
        address: str,
        personalisation: Mapping[str, str],
    ) -> list[object]:
        """One row to a staff member, sealed under their key (as `build_message` seals)."""
        reference, staff_member, data_key, recipient, values = self._at
        row = self._constant.copy()
        row[reference] = self._uuid(uuid.uuid4())
        row[staff_member] = staff_member_id
        row[data_key] = self._uuid(key.data_key_id)
        row[recipient] = key.seal("message.recipient", address)
        row[values] = key.seal(
            "message.personalisation", json.dumps(dict(personalisation), sort_keys=True)
        )
        return row


def _enqueue_dispatch_after_commit() -> None:
    from confide.messaging.tasks import dispatch_messages

    transaction.on_commit(lambda: dispatch_messages.enqueue(), robust=True)


# Field types whose Python value (as build_message sets it) is already what the database takes.
_STORED_AS_IS = (models.CharField, models.TextField, models.IntegerField, models.BinaryField)


def _stored_as_is(field: models.Field[Any, Any]) -> bool:
    if isinstance(field, models.ForeignKey):
        return _stored_as_is(field.target_field)
    return isinstance(field, _STORED_AS_IS)  # AutoField is an IntegerField


def _row_values(fields: list[models.Field[Any, Any]]) -> list[Callable[[Message], object]]:
    """Per column, how to get a message's database value: the attribute itself where Django's
    preparation is the identity, `get_db_prep_save` only where it converts (UUIDs, datetimes),
    and one timestamp for every auto_now_add column, as one statement would give."""
    now = timezone.now()

    def constant(value: object) -> Callable[[Message], object]:
        return lambda _message: value

    def prepared(field: models.Field[Any, Any]) -> Callable[[Message], object]:
        def value(message: Message) -> object:
            raw = getattr(message, field.attname)
            return None if raw is None else field.get_db_prep_save(raw, connection)

        return value

    getters: list[Callable[[Message], object]] = []
    for field in fields:
        if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
            getters.append(constant(field.get_db_prep_save(now, connection)))
        elif _stored_as_is(field):
            getters.append(attrgetter(field.attname))
        else:
            getters.append(prepared(field))
    return getters


def insert_messages(messages: list[Message]) -> None:
    """Insert many unsaved messages at once (see `insert_message_rows`).

    The values are the ones Django would store (tests compare the rows with bulk_create's);
    the instances are not given primary keys.
    """
    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    getters = _row_values(fields)
    insert_message_rows(
        [f.column for f in fields],
        [tuple(get(message) for get in getters) for message in messages],
    )


def insert_message_rows(columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows of database values: COPY on PostgreSQL, executemany elsewhere.

    A broadcast inserts thousands of rows; Django's bulk_create spends most of its time
    compiling the statement and preparing each value through the field API, several times
    what the database spends storing the rows.
    """
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    table = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(columns))
        cursor.executemany(
            f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})",  # noqa: S608 — our names
            list(rows),
        )


def cancel_message(*, message: Message) -> bool:
    """Cancel a message that has not been handed to a provider yet."""
    return bool(
        Message.objects.filter(
            pk=message.pk, state__in=[MessageState.QUEUED, MessageState.FAILED_TEMPORARY]
        ).update(state=MessageState.CANCELLED)
    )


def purge_message_contents(*, now: datetime | None = None) -> int:
    """Drop recipients and personalisation of finished messages past retention (default 7 days).

    The delivery record (state, times, provider reference, template version) stays.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.CONFIDE_MESSAGE_RETENTION_DAYS)
    return Message.objects.filter(
        created_at__lt=cutoff,
        purged_at__isnull=True,
        state__in=[
            MessageState.SENT,
            MessageState.DELIVERED,
            MessageState.FAILED_PERMANENT,
            MessageState.CANCELLED,
        ],
    ).update(recipient_sealed=None, personalisation_sealed=None, purged_at=now)


# GOV.UK Notify's final statuses and what they mean for our record.
_NOTIFY_STATUSES = {
    "delivered": MessageState.DELIVERED,
    "permanent-failure": MessageState.FAILED_PERMANENT,
    "temporary-failure": MessageState.FAILED_PERMANENT,  # Notify has already retried for 72 h
    "technical-failure": MessageState.FAILED_TEMPORARY,
}


def record_delivery_status(*, reference: str, provider_status: str) -> bool:
    """Apply a provider's delivery receipt to the message with this reference."""
    from confide.messaging.signals import message_state_changed

    state = _NOTIFY_STATUSES.get(provider_status)
    if state is None:
        return False
    try:
        message = Message.objects.get(reference=reference)
    except (Message.DoesNotExist, ValidationError, ValueError):
        return False
    now = timezone.now()
    fields: dict[str, object] = {"state": state, "last_error": f"Notify: {provider_status}"}
    if state == MessageState.DELIVERED:
        fields = {"state": state, "delivered_at": now, "last_error": ""}
    elif state == MessageState.FAILED_PERMANENT:
        fields["failed_at"] = now
    else:
        fields["next_attempt_at"] = now
    Message.objects.filter(pk=message.pk).update(**fields)
    message_state_changed.send(
        sender=Message, message_id=message.pk, state=state, person_id=message.person_id
    )
    return True
