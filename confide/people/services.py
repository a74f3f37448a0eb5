"""Writes about people: create, rectify, erase. Validation first, then one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from confide.people.details import PersonDetails, validate_person_details
from confide.people.models import PERSON_SEALED_FIELDS, Person
from confide.people.validation import surname_key
from confide.privacy.blind_index import IndexKind, blind_index
from confide.privacy.crypto import (
    SubjectKey,
    new_data_key,
    new_data_key_material,
    unwrap_data_key,
)
from confide.privacy.models import DataKey

if TYPE_CHECKING:
    from confide.matching.services import PreparedDetails


def person_indexes(details: PersonDetails) -> dict[str, str | None]:
    """Blind indexes of already-normalised details."""
    surname_dob = (
        f"{surname_key(details.family_name)}|{details.date_of_birth.isoformat()}"
        if details.family_name and details.date_of_birth
        else None
    )
    return {
        "nhs_number_index": blind_index(IndexKind.NHS_NUMBER, details.nhs_number),
        "email_index": blind_index(IndexKind.EMAIL, details.email),
        "phone_index": blind_index(IndexKind.PHONE, details.phone),
        "surname_dob_index": blind_index(IndexKind.SURNAME_DOB, surname_dob),
        "postcode_index": blind_index(IndexKind.POSTCODE, details.postcode),
    }


def _seal_into(person: Person, key: SubjectKey, details: PersonDetails) -> None:
    values = details.as_strings()
    for name in PERSON_SEALED_FIELDS:
        setattr(person, f"{name}_sealed", key.seal(f"person.{name}", values[name]))
    for column, digest in person_indexes(details).items():
        setattr(person, column, digest)


@dataclass(frozen=True)
class UnsavedPerson:
    """A sealed person and its data key, ready for bulk insertion (imports, demo)."""

    data_key: DataKey
    person: Person
    # The normalised details, kept in memory so saving can index them for matching.
    details: PersonDetails | None = None


def build_person(details: PersonDetails, *, today: date) -> UnsavedPerson:
    """Validate and seal without touching the database (bulk paths save many at once)."""
    clean = validate_person_details(details, today=today)
    data_key, key = new_data_key()
    person = Person(data_key=data_key)
    _seal_into(person, key, clean)
    return UnsavedPerson(data_key=data_key, person=person, details=clean)


def save_people(people: Sequence[UnsavedPerson], *, batch_size: int = 500) -> list[Person]:
    """Insert built people in bulk, with their matching index (confide.matching)."""
    from confide.matching.services import index_new_people

    with transaction.atomic():
        DataKey.objects.bulk_create([p.data_key for p in people], batch_size=batch_size)
        saved = Person.objects.bulk_create([p.person for p in people], batch_size=batch_size)
        index_new_people([(p.person, p.details) for p in people if p.details is not None])
        return saved


def save_new_people(details: Sequence[PersonDetails]) -> list[int]:
    """Insert people whose details `validate_person_details` has already cleaned (an import
    validated each row), each sealed under its own new data key and indexed for matching, in
    the caller's transaction. Returns their ids in order."""
    return [saved.person_id for saved in insert_new_people(details)]


@dataclass(frozen=True)
class SealedPerson:
    """A person sealed under a new data key ahead of knowing whether they are new: an
    import's helper process seals every row's person while this process matches the rows
    before them, and only those who turn out to be new are saved (the others' keys were
    never stored, so nothing of them remains).

    `raw_key` is the data key in clear, as `SubjectKey` holds it in memory, so that the saving
    process can seal the person's first messages: it goes from the helper to the importing
    process over the pipe between them, never to disk or the database."""

    data_key: dict[str, object]
    person: dict[str, object]
    raw_key: bytes

    def subject_key(self) -> SubjectKey:
        return SubjectKey(cast(uuid.UUID, self.data_key["id"]), AESGCM(self.raw_key))


def seal_new_person(details: PersonDetails, indexes: Mapping[str, str | None]) -> SealedPerson:
    """Seal already-cleaned details (and their blind indexes, as `person_indexes` gives them)
    under a new data key wrapped by the active master key, as `insert_new_people` would."""
    data_key, key, raw = new_data_key_material()
    values = details.as_strings()
    person: dict[str, object] = {
        f"{name}_sealed": key.seal(f"person.{name}", values[name]) for name in PERSON_SEALED_FIELDS
    }
    person.update(indexes)
    person["data_key_id"] = key.data_key_id
    person["reference"] = uuid.uuid4()
    return SealedPerson(data_key=data_key, person=person, raw_key=raw)


@dataclass(frozen=True)
class NewPerson:
    """A person `insert_new_people` saved, and their data key still unwrapped in memory (so
    the same unit of work can seal their first messages without unwrapping it again)."""

    person_id: int
    reference: uuid.UUID
    key: SubjectKey


def insert_new_people(details: Sequence[PersonDetails | PreparedDetails]) -> list[NewPerson]:
    """`save_new_people`, returning each person's reference and data key. Details that
    matching has prepared (`confide.matching.services.prepare_details`) are indexed with the
    blind indexes and encodings already computed.

    The same sealing and indexes as `build_person` + `save_people`, written as rows
    (`confide.bulk`): building two model instances per person cost more than sealing them.
    """
    from confide.bulk import insert_rows
    from confide.matching.services import PreparedDetails, index_people

    if not details:
        return []
    key_rows: list[dict[str, object]] = []
    people: list[dict[str, object]] = []
    keys: list[SubjectKey] = []
    references: list[uuid.UUID] = []
    for item in details:
        sealed = item.sealed if isinstance(item, PreparedDetails) else None
        if sealed is None:  # not sealed ahead by an import's helper process: seal here
            clean = item.details if isinstance(item, PreparedDetails) else item
            indexes = item.indexes if isinstance(item, PreparedDetails) else person_indexes(clean)
            sealed = seal_new_person(clean, indexes)
        key_rows.append(sealed.data_key)
        people.append(sealed.person)
        keys.append(sealed.subject_key())
        references.append(cast(uuid.UUID, sealed.person["reference"]))
    with transaction.atomic():
        insert_rows(DataKey, key_rows)
        ids = insert_rows(Person, people)
        index_people(list(zip(ids, details, strict=True)))
    return [
        NewPerson(person_id=pk, reference=reference, key=key)
        for pk, reference, key in zip(ids, references, keys, strict=True)
    ]


def create_person(*, details: PersonDetails, today: date | None = None) -> Person:
    """A new Person, every personal field sealed under its own new data key.

    Raises ValidationError (by field) and saves nothing when any detail is invalid.
    """
    from confide.matching.services import index_new_people

    unsaved = build_person(details, today=today or timezone.localdate())
    assert unsaved.details is not None
    # Every detail was checked above, so only the database can fail in here, and then the
    # caller's transaction fails too: no savepoint of its own (two statements a contact).
    with transaction.atomic(savepoint=False):
        unsaved.data_key.save(force_insert=True)
        unsaved.person.save(force_insert=True)
        index_new_people([(unsaved.person, unsaved.details)])
    return unsaved.person


def rectify_person(*, person: Person, details: PersonDetails, today: date | None = None) -> Person:
    """Replace a person's details (UK GDPR Art. 16), re-sealing under the same data key."""
    from confide.matching.services import reindex_person

    clean = validate_person_details(details, today=today or timezone.localdate())
    with transaction.atomic():
        locked = Person.objects.select_for_update().select_related("data_key").get(pk=person.pk)
        if locked.erased_at is not None:
            raise PersonErased(f"Person {locked.reference} was erased.")
        _seal_into(locked, unwrap_data_key(locked.data_key), clean)
        locked.save()
        reindex_person(person=locked, details=clean)
    return locked


class PersonErased(Exception):
    """The person was erased; their details are gone and cannot be changed or read."""


def erase_person(*, person: Person) -> None:
    """Crypto-shred a person: destroy their data key, drop ciphertexts and blind indexes.

    The row stays as a tombstone so cases, exposures and statistics keep their shape. Its
    matching encodings are deleted.
    """
    from confide.matching.services import forget_person

    now = timezone.now()
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        forget_person(person=locked)
        # Support applications' sealed values and the bank-account blind index (confide/support).
        from confide.support.services import forget_support

        forget_support(person=locked)
        DataKey.objects.filter(pk=locked.data_key_id).update(
            wrapped_key=None, master_version=None, destroyed_at=now
        )
        cleared: dict[str, object] = {f"{name}_sealed": None for name in PERSON_SEALED_FIELDS}
        cleared.update({column: None for column in person_indexes(PersonDetails(""))})
        Person.objects.filter(pk=locked.pk).update(erased_at=now, **cleared)


def set_safeguarding_flag(*, person: Person, kind: str, by_reference: object = None) -> None:
    from confide.people.models import SafeguardingFlag, SafeguardingKind

    if kind not in SafeguardingKind.values:
        raise ValidationError({"kind": ["Choose a safeguarding flag"]})
    SafeguardingFlag.objects.get_or_create(
        person=person, kind=kind, cleared_at=None, defaults={"set_by_reference": by_reference}
    )


def clear_safeguarding_flag(*, person: Person, kind: str) -> None:
    from confide.people.models import SafeguardingFlag

    SafeguardingFlag.objects.filter(person=person, kind=kind, cleared_at__isnull=True).update(
        cleared_at=timezone.now()
    )


def set_safeguarding_flags(*, person: Person, kinds: set[str], by_reference: object = None) -> None:
    """Make the person's active flags exactly `kinds`: set the new ones, clear the others."""
    from confide.people.models import SafeguardingFlag, SafeguardingKind

    unknown = kinds - set(SafeguardingKind.values)
    if unknown:
        raise ValidationError({"flags": ["Choose safeguarding flags from the list"]})
    with transaction.atomic():
        active = set(
            SafeguardingFlag.objects.filter(person=person, cleared_at__isnull=True).values_list(
                "kind", flat=True
            )
        )
        for kind in kinds - active:
            set_safeguarding_flag(person=person, kind=kind, by_reference=by_reference)
        for kind in active - kinds:
            clear_safeguarding_flag(person=person, kind=kind)
