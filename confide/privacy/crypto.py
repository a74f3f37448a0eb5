"""Field-by-field authenticated encryption under per-subject data keys.

Library choice (see docs/architecture.md): pyca/cryptography's AESGCM. It is the most widely
deployed, audited Python binding of OpenSSL's AES-GCM; Tink would add a second native stack for
the same primitive and its Python key-management story is tied to cloud KMSs.

Layout of a sealed field: 1 format byte, 12-byte random nonce, ciphertext and 16-byte tag.
The associated data binds a ciphertext to its field and its data key, so a value copied into
another field or another person's row fails to open instead of being misread.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.utils import timezone

from confide.privacy.keys import EPOCH_CHECK_SECONDS, NONCE_BYTES, DataKeyDestroyed, master_keys
from confide.privacy.models import DataKey

FORMAT_V1 = b"\x01"

# A new data key's epoch: the day after tomorrow. Its subject's retention is not known yet; the
# next daily sweep moves it to the epoch its records fall due in. Two days, not one, so that a
# sweep starting just after midnight never destroys the epoch of a key being created just
# before it.
NEW_KEY_EPOCH_DAYS = 2


class TamperedCiphertext(Exception):
    """A sealed value failed authentication: altered, moved, or sealed under another key."""


def _wrap_associated_data(data_key_id: uuid.UUID) -> bytes:
    return b"confide:data-key:" + data_key_id.bytes


@dataclass(frozen=True)
class SubjectKey:
    """An unwrapped data key, held only in memory while a unit of work needs it."""

    data_key_id: uuid.UUID
    aead: AESGCM

    def _associated_data(self, field: str) -> bytes:
        return field.encode() + b"|" + self.data_key_id.bytes

    def seal(self, field: str, value: str | None) -> bytes | None:
        if value is None or value == "":
            return None
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self.aead.encrypt(nonce, value.encode("utf-8"), self._associated_data(field))
        return FORMAT_V1 + nonce + sealed

    def open(self, field: str, sealed: bytes | memoryview | None) -> str | None:
        if sealed is None:
            return None
        raw = bytes(sealed)
        if raw[:1] != FORMAT_V1:
            raise TamperedCiphertext(f"Unknown ciphertext format in {field}.")
        nonce, body = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
        try:
            return self.aead.decrypt(nonce, body, self._associated_data(field)).decode("utf-8")
        except InvalidTag as exc:
            raise TamperedCiphertext(f"{field} failed authentication.") from exc


# (until, floor, epoch): today's date in the local time zone costs more than sealing a field,
# so it is worked out once a second; the two-day margin absorbs a second's staleness at midnight.
_new_key_epoch: tuple[float, date, date] | None = None


def new_key_epoch() -> date:
    """The retention epoch new data keys are wrapped under (never one already destroyed)."""
    global _new_key_epoch
    floor = master_keys().epochs().floor
    now = time.monotonic()
    cached = _new_key_epoch
    if cached is not None and now < cached[0] and cached[1] == floor:
        return cached[2]
    epoch = max(timezone.localdate() + timedelta(days=NEW_KEY_EPOCH_DAYS), floor)
    _new_key_epoch = (now + EPOCH_CHECK_SECONDS, floor, epoch)
    return epoch


def new_data_key() -> tuple[DataKey, SubjectKey]:
    """A fresh data key: the unsaved row (wrapped) and the in-memory key to seal with."""
    values, key = new_data_key_values()
    return DataKey(**values), key


def new_data_key_values() -> tuple[dict[str, object], SubjectKey]:
    """`new_data_key` with the row as column values, for bulk inserts (`confide.bulk`) that
    need no instance: building one cost a third of making the key."""
    values, key, _raw = new_data_key_material()
    return values, key


def new_data_key_material() -> tuple[dict[str, object], SubjectKey, bytes]:
    """`new_data_key_values` and the key's raw bytes, for an import's helper process that
    seals people ahead and hands the key to the importing process over the pipe between them
    (confide/ingest/parallel.py). The raw key is never written anywhere."""
    raw = AESGCM.generate_key(bit_length=256)
    key_id = uuid.uuid4()
    epoch = new_key_epoch()
    version, wrapped = master_keys().wrap(
        raw, associated_data=_wrap_associated_data(key_id), epoch=epoch
    )
    values: dict[str, object] = {
        "id": key_id,
        "wrapped_key": wrapped,
        "master_version": version,
        "retention_epoch": epoch,
    }
    return values, SubjectKey(key_id, AESGCM(raw)), raw


def _unwrap_raw(data_key: DataKey) -> bytes:
    if data_key.wrapped_key is None or data_key.master_version is None:
        raise DataKeyDestroyed(f"Data key {data_key.id} was destroyed.")
    return master_keys().unwrap(
        data_key.master_version,
        bytes(data_key.wrapped_key),
        associated_data=_wrap_associated_data(data_key.id),
        epoch=data_key.retention_epoch,
    )


def unwrap_data_key(data_key: DataKey) -> SubjectKey:
    return SubjectKey(data_key.id, AESGCM(_unwrap_raw(data_key)))


def rewrap(data_key: DataKey) -> tuple[int, bytes]:
    """The data key wrapped again under the active master key, in the same epoch (rotation)."""
    raw = _unwrap_raw(data_key)
    return master_keys().wrap(
        raw, associated_data=_wrap_associated_data(data_key.id), epoch=data_key.retention_epoch
    )


def rewrap_in_epoch(data_key: DataKey, epoch: date | None) -> tuple[int, bytes]:
    """The data key wrapped again under the active master key and retention epoch `epoch`
    (None: the master key alone, for keys no retention rule erases)."""
    raw = _unwrap_raw(data_key)
    return master_keys().wrap(raw, associated_data=_wrap_associated_data(data_key.id), epoch=epoch)
