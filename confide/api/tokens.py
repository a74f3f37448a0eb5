"""Token strings: `cfd_<prefix>_<secret>`. The prefix finds the row; only the secret's hash is
stored, and the secret is shown once, when the token is made."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

TOKEN_PATTERN = re.compile(r"^cfd_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class TokenParts:
    prefix: str
    secret: str

    def __str__(self) -> str:
        return f"cfd_{self.prefix}_{self.secret}"


def new_token_parts() -> TokenParts:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    prefix = "".join(secrets.choice(alphabet) for _ in range(12))
    return TokenParts(prefix=prefix, secret=secrets.token_urlsafe(32))


def parse_token(value: str) -> TokenParts | None:
    match = TOKEN_PATTERN.match(value)
    if match is None:
        return None
    return TokenParts(prefix=match.group(1), secret=match.group(2))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
