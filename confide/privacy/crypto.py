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
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from confide.privacy.keys import NONCE_BYTES, DataKeyDestroyed, master_keys
from confide.privacy.models import DataKey

FORMAT_V1 = b"\x01"


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


def new_data_key() -> tuple[DataKey, SubjectKey]:
    """A fresh data key: the unsaved row (wrapped) and the in-memory key to seal with."""
    raw = AESGCM.generate_key(bit_length=256)
    key_id = uuid.uuid4()
    version, wrapped = master_keys().wrap(raw, associated_data=_wrap_associated_data(key_id))
    row = DataKey(id=key_id, wrapped_key=wrapped, master_version=version)
    return row, SubjectKey(key_id, AESGCM(raw))


def unwrap_data_key(data_key: DataKey) -> SubjectKey:
    if data_key.wrapped_key is None or data_key.master_version is None:
        raise DataKeyDestroyed(f"Data key {data_key.id} was destroyed.")
    raw = master_keys().unwrap(
        data_key.master_version,
        bytes(data_key.wrapped_key),
        associated_data=_wrap_associated_data(data_key.id),
    )
    return SubjectKey(data_key.id, AESGCM(raw))


def rewrap(data_key: DataKey) -> tuple[int, bytes]:
    """The data key wrapped again under the active master key (for rotation)."""
    if data_key.wrapped_key is None or data_key.master_version is None:
        raise DataKeyDestroyed(f"Data key {data_key.id} was destroyed.")
    provider = master_keys()
    aad = _wrap_associated_data(data_key.id)
    raw = provider.unwrap(data_key.master_version, bytes(data_key.wrapped_key), associated_data=aad)
    return provider.wrap(raw, associated_data=aad)
