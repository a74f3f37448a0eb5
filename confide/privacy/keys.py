"""Master keys and the blind-index key, held outside the database.

Two sources are supported, chosen by settings:

* a key-ring file (JSON, mode 0600) — what `confide keys init` writes and `make run` uses;
* the environment (CONFIDE_MASTER_KEYS, CONFIDE_ACTIVE_MASTER_KEY, CONFIDE_INDEX_KEY) — for
  containers whose secrets are injected by the platform.

Both implement `MasterKeyProvider`, the interface a KMS adapter would implement too: it wraps
and unwraps data keys and never hands the master key to the rest of the code.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12


class KeyUnavailable(Exception):
    """A ciphertext names a master key version this process does not hold."""


class DataKeyDestroyed(Exception):
    """The data key was destroyed (erasure); what it protected is gone for good."""


class MasterKeyProvider(Protocol):
    """What the rest of Confide may ask of master keys (a KMS adapter implements this)."""

    @property
    def active_version(self) -> int: ...

    def versions(self) -> list[int]: ...

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> tuple[int, bytes]: ...

    def unwrap(self, version: int, wrapped: bytes, *, associated_data: bytes) -> bytes: ...

    def index_key(self) -> bytes: ...


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{what} is not valid base64.") from exc
    if len(raw) != KEY_BYTES:
        raise ImproperlyConfigured(f"{what} must be {KEY_BYTES} bytes (base64-encoded).")
    return raw


@dataclass
class KeyRing:
    """Versioned master keys plus the separate blind-index key."""

    master_keys: dict[int, bytes]
    active_version: int
    index_key: bytes
    demo: bool = False
    retired: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.active_version not in self.master_keys:
            raise ImproperlyConfigured(
                f"The active master key version {self.active_version} is not in the key ring."
            )

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": 1,
                "demo": self.demo,
                "active_master_version": self.active_version,
                "master_keys": {str(v): _b64(k) for v, k in sorted(self.master_keys.items())},
                "index_key": _b64(self.index_key),
                "retired": self.retired,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, *, source: str) -> KeyRing:
        try:
            raw = json.loads(text)
            return cls(
                master_keys={
                    int(v): _unb64(k, f"master key {v} in {source}")
                    for v, k in raw["master_keys"].items()
                },
                active_version=int(raw["active_master_version"]),
                index_key=_unb64(raw["index_key"], f"index key in {source}"),
                demo=bool(raw.get("demo", False)),
                retired=[int(v) for v in raw.get("retired", [])],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ImproperlyConfigured(
                f"The key ring {source} is malformed ({exc}); restore it from your key backup."
            ) from exc

    @classmethod
    def generate(cls, *, demo: bool) -> KeyRing:
        return cls(
            master_keys={1: AESGCM.generate_key(bit_length=256)},
            active_version=1,
            index_key=secrets.token_bytes(KEY_BYTES),
            demo=demo,
        )


class LocalMasterKeys:
    """Master keys held in this process, loaded from a key-ring file or the environment.

    A file-backed ring follows the file: before wrapping it checks (one stat) whether another
    process rotated, so new data keys are always wrapped by the active version on disk; and when
    a ciphertext names a version it has not seen it re-reads the file once before giving up.
    """

    def __init__(self, ring: KeyRing, *, path: Path | None = None) -> None:
        self._ring = ring
        self._path = path
        self._lock = threading.Lock()
        self._file_state = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        if self._path is None:
            return None
        try:
            status = self._path.stat()
        except FileNotFoundError:
            return None
        return (status.st_ino, status.st_mtime_ns)

    def reload_if_changed(self) -> None:
        if self._path is not None and self._stat() != self._file_state:
            self.reload()

    @property
    def ring(self) -> KeyRing:
        return self._ring

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def active_version(self) -> int:
        return self._ring.active_version

    def versions(self) -> list[int]:
        return sorted(self._ring.master_keys)

    def index_key(self) -> bytes:
        return self._ring.index_key

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> tuple[int, bytes]:
        self.reload_if_changed()
        version = self._ring.active_version
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self._ring.master_keys[version]).encrypt(nonce, data_key, associated_data)
        return version, nonce + sealed

    def unwrap(self, version: int, wrapped: bytes, *, associated_data: bytes) -> bytes:
        key = self._ring.master_keys.get(version)
        if key is None and self._path is not None:
            self.reload()
            key = self._ring.master_keys.get(version)
        if key is None:
            raise KeyUnavailable(
                f"Master key version {version} is not available to this process; "
                "check CONFIDE_KEYS_FILE or CONFIDE_MASTER_KEYS."
            )
        try:
            return AESGCM(key).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], associated_data
            )
        except InvalidTag as exc:
            raise KeyUnavailable(
                f"A data key did not unwrap with master key version {version}."
            ) from exc

    def reload(self) -> None:
        if self._path is None:
            return
        with self._lock:
            state = self._stat()
            self._ring = read_key_ring(self._path)
            self._file_state = state

    def save(self, ring: KeyRing) -> None:
        """Replace the key ring file atomically (write, fsync, rename)."""
        if self._path is None:
            raise ImproperlyConfigured(
                "Keys come from the environment; change CONFIDE_MASTER_KEYS in your secret store."
            )
        write_key_ring(self._path, ring)
        with self._lock:
            self._ring = ring
            self._file_state = self._stat()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the key-ring lock file for a read-modify-write, re-reading the ring inside it,
        so two `keys rotate` runs cannot both write a "version N+1"."""
        if self._path is None:
            raise ImproperlyConfigured(
                "Keys come from the environment; change CONFIDE_MASTER_KEYS in your secret store."
            )
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.reload()
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def read_key_ring(path: Path) -> KeyRing:
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        raise ImproperlyConfigured(
            f"No key ring at {path}. Run `confide keys init` to create one "
            "(or set CONFIDE_MASTER_KEYS and CONFIDE_INDEX_KEY)."
        ) from exc
    return KeyRing.from_json(text, source=str(path))


def write_key_ring(path: Path, ring: KeyRing) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(ring.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def _ring_from_environment(spec: str) -> KeyRing:
    master_keys: dict[int, bytes] = {}
    for item in spec.split(","):
        version, _, encoded = item.strip().partition(":")
        if not version.isdigit() or not encoded:
            raise ImproperlyConfigured(
                "CONFIDE_MASTER_KEYS must look like '1:<base64>,2:<base64>'."
            )
        master_keys[int(version)] = _unb64(encoded, f"CONFIDE_MASTER_KEYS version {version}")
    index = os.environ.get("CONFIDE_INDEX_KEY", "")
    if not index:
        raise ImproperlyConfigured("CONFIDE_MASTER_KEYS is set, so CONFIDE_INDEX_KEY must be too.")
    active = os.environ.get("CONFIDE_ACTIVE_MASTER_KEY", str(max(master_keys)))
    return KeyRing(
        master_keys=master_keys,
        active_version=int(active),
        index_key=_unb64(index, "CONFIDE_INDEX_KEY"),
    )


_provider: LocalMasterKeys | None = None
_provider_lock = threading.Lock()


def master_keys() -> LocalMasterKeys:
    """The process-wide key provider, loaded on first use."""
    global _provider
    if _provider is None:
        with _provider_lock:
            if _provider is None:
                _provider = _load_provider()
    return _provider


def _load_provider() -> LocalMasterKeys:
    spec = os.environ.get("CONFIDE_MASTER_KEYS", "")
    if spec:
        provider = LocalMasterKeys(_ring_from_environment(spec))
    else:
        path = Path(settings.CONFIDE_KEYS_FILE)
        provider = LocalMasterKeys(read_key_ring(path), path=path)
    if settings.PRODUCTION and provider.ring.demo:
        raise ImproperlyConfigured(
            "Production refuses demo keys. Create real keys with `confide keys init` on the "
            "production key store (or set CONFIDE_MASTER_KEYS) and re-encrypt with `keys rotate`."
        )
    return provider


def reset_master_keys_cache() -> None:
    """Forget the loaded provider (tests, and after `keys init`)."""
    global _provider
    with _provider_lock:
        _provider = None
