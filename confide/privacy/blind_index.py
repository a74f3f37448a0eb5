"""Blind indexes: keyed HMAC-SHA256 over normalised values, for exact lookups without decrypting.

Each kind of index gets its own sub-key (HKDF from the index key), so equal values in two
kinds (an email used as a staff login and as a contact's email) give unrelated digests and
cannot be joined across tables by someone holding only the database.
"""

from __future__ import annotations

import hmac
from enum import StrEnum
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from confide.privacy.keys import master_keys

# 128 bits: collisions stay negligible at national scale (~1e-20 for 1e8 values).
INDEX_HEX_LENGTH = 32


class IndexKind(StrEnum):
    NHS_NUMBER = "nhs_number"
    EMAIL = "email"
    PHONE = "phone"
    SURNAME_DOB = "surname_dob"
    POSTCODE = "postcode"
    STAFF_EMAIL = "staff_email"
    BANK_ACCOUNT = "bank_account"  # sort code + account number (confide/support)


@lru_cache(maxsize=64)
def _sub_key(index_key: bytes, kind: IndexKind) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"confide-bidx:" + kind.encode()
    ).derive(index_key)


def blind_index(kind: IndexKind, normalised_value: str | None) -> str | None:
    """The index of an already-normalised value (see confide.people.validation)."""
    if not normalised_value:
        return None
    key = _sub_key(master_keys().index_key(), kind)
    # hmac.digest: the same HMAC-SHA256, in one call to OpenSSL (imports compute five a row).
    digest = hmac.digest(key, normalised_value.encode("utf-8"), "sha256").hex()
    return digest[:INDEX_HEX_LENGTH]


@lru_cache(maxsize=16)
def _purpose_key(index_key: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"confide-purpose:" + purpose.encode()
    ).derive(index_key)


def purpose_key(purpose: str) -> bytes:
    """A key for one keyed-hash purpose (e.g. signing audit checkpoints), derived from the
    index key held outside the database, and unrelated to every blind-index sub-key."""
    return _purpose_key(master_keys().index_key(), purpose)
