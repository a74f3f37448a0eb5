"""Master keys and the blind-index key, held outside the database.

Two sources are supported, chosen by settings:

* a key-ring file (JSON, mode 0600) — what `confide keys init` writes and `make run` uses;
* the environment (CONFIDE_MASTER_KEYS, CONFIDE_ACTIVE_MASTER_KEY, CONFIDE_INDEX_KEY) — for
  containers whose secrets are injected by the platform.

Both implement `MasterKeyProvider`, the interface a KMS adapter would implement too: it wraps
and unwraps data keys and never hands the master key to the rest of the code.

Retention epochs (docs/architecture.md, "Retention epochs"): a data key is wrapped under a key
derived from a master key *and* the key of its retention epoch (a day on or before the day its
subject falls due for erasure). Epoch keys live in a second file of the key store, never in the
database, as a one-way ratchet: the file holds only the oldest live epoch and its chain value;
each later epoch's value is derived forward from it, so every server sharing the store derives
the same keys and none invents one, and destroying the epochs before a day is replacing the
stored value with that day's. Nothing in the store leads back to an epoch before it.
"""

from __future__ import annotations

import base64
import fcntl
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
# How stale a process's view of destroyed epochs may be.
EPOCH_CHECK_SECONDS = 1.0


class KeyUnavailable(Exception):
    """A ciphertext names a master key version this process does not hold."""


class DataKeyDestroyed(Exception):
    """The data key was destroyed (erasure); what it protected is gone for good."""


class EpochDestroyed(KeyUnavailable):
    """A data key is wrapped under a retention epoch whose key the key store has destroyed."""


class MasterKeyProvider(Protocol):
    """What the rest of Confide may ask of master keys (a KMS adapter implements this)."""

    @property
    def active_version(self) -> int: ...

    def versions(self) -> list[int]: ...

    def wrap(
        self, data_key: bytes, *, associated_data: bytes, epoch: date | None = None
    ) -> tuple[int, bytes]: ...

    def unwrap(
        self, version: int, wrapped: bytes, *, associated_data: bytes, epoch: date | None = None
    ) -> bytes: ...

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


def _next_chain(chain: bytes) -> bytes:
    return hmac.digest(chain, b"confide:retention-epoch:next", "sha256")


def _epoch_key_from_chain(chain: bytes) -> bytes:
    return hmac.digest(chain, b"confide:retention-epoch:key", "sha256")


@dataclass(frozen=True)
class EpochRatchet:
    """What the key store holds of retention epochs: the oldest live epoch (`floor`, a day)
    and its chain value. Epoch d >= floor has chain value next^(d - floor)(chain); its key is
    derived from that value. HMAC is one-way, so no earlier epoch can be derived."""

    floor: date
    chain: bytes
    demo: bool = False
    advanced_at: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": 1,
                "demo": self.demo,
                "floor": self.floor.isoformat(),
                "chain": _b64(self.chain),
                "advanced_at": self.advanced_at,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, *, source: str) -> EpochRatchet:
        try:
            raw = json.loads(text)
            return cls(
                floor=date.fromisoformat(raw["floor"]),
                chain=_unb64(raw["chain"], f"epoch chain in {source}"),
                demo=bool(raw.get("demo", False)),
                advanced_at=str(raw.get("advanced_at", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ImproperlyConfigured(
                f"The retention epoch store {source} is malformed ({exc}); restore it from the "
                "key store backup."
            ) from exc

    @classmethod
    def generate(cls, *, demo: bool, floor: date) -> EpochRatchet:
        return cls(floor=floor, chain=secrets.token_bytes(KEY_BYTES), demo=demo)

    def advanced_to(self, floor: date) -> EpochRatchet:
        """The ratchet with every epoch before `floor` destroyed (never moves backwards)."""
        chain = self.chain
        for _ in range((floor - self.floor).days):
            chain = _next_chain(chain)
        return replace(
            self,
            floor=max(floor, self.floor),
            chain=chain,
            advanced_at=timezone.now().isoformat(timespec="seconds"),
        )


def epoch_store_path() -> Path:
    """The epoch store: CONFIDE_EPOCH_KEYS_FILE, or `epochs.json` beside the key ring file."""
    configured = getattr(settings, "CONFIDE_EPOCH_KEYS_FILE", "")
    if configured:
        return Path(configured)
    return Path(settings.CONFIDE_KEYS_FILE).with_name("epochs.json")


def write_epoch_ratchet(path: Path, ratchet: EpochRatchet, *, exclusive: bool = False) -> None:
    """Write the epoch store atomically. `exclusive`: only if none exists yet (creation by
    one process of several must not replace a store another already uses)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(ratchet.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    if exclusive:
        try:
            os.link(tmp, path)
        finally:
            tmp.unlink()
    else:
        tmp.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_epoch_ratchet(path: Path) -> EpochRatchet:
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        raise ImproperlyConfigured(
            f"No retention epoch store at {path}. Run `confide keys init --if-missing` once, on "
            "the key store every server shares (or set CONFIDE_EPOCH_KEYS_FILE to it)."
        ) from exc
    return EpochRatchet.from_json(text, source=str(path))


class RetentionEpochs:
    """The epoch keys of the key store, derived on demand from its ratchet file.

    Every use checks the file (one stat), so once any process destroys epochs, no process
    derives them again. Chain values are cached from the floor up to the latest epoch asked
    for (a case's data may fall due eight years ahead: about 3,000 HMACs, once).
    """

    def __init__(self, path: Path, ratchet: EpochRatchet) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._set(ratchet)

    def _set(self, ratchet: EpochRatchet) -> None:
        self._ratchet = ratchet
        self._chains = [ratchet.chain]
        self._file_state = _file_state(self._path)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def ratchet(self) -> EpochRatchet:
        return self._ratchet

    @property
    def floor(self) -> date:
        return self._ratchet.floor

    def reload_if_changed(self) -> bool:
        if _file_state(self._path) == self._file_state:
            return False
        with self._lock:
            self._set(read_epoch_ratchet(self._path))
        return True

    def key(self, epoch: date) -> bytes:
        offset = (epoch - self._ratchet.floor).days
        if offset < 0:
            raise EpochDestroyed(
                f"The key of retention epoch {epoch} was destroyed (epochs before "
                f"{self._ratchet.floor} no longer exist)."
            )
        with self._lock:
            chains = self._chains
            while len(chains) <= offset:
                chains.append(_next_chain(chains[-1]))
            return _epoch_key_from_chain(chains[offset])

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the store's lock file for a read-modify-write, re-reading the store inside."""
        fd = os.open(self._path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with self._lock:
                self._set(read_epoch_ratchet(self._path))
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def save(self, ratchet: EpochRatchet) -> None:
        write_epoch_ratchet(self._path, ratchet)
        with self._lock:
            self._set(ratchet)


def _file_state(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return (status.st_ino, status.st_mtime_ns)


def open_retention_epochs(*, demo: bool) -> RetentionEpochs:
    """The key store's epochs. A demo key ring gets a new store on first use; a real one must
    be created once with `confide keys init` on the shared key store, so that no server ever
    starts wrapping under epochs the others cannot derive."""
    path = epoch_store_path()
    if not path.exists() and demo:
        # If another process created it first, use theirs.
        with suppress(FileExistsError):
            write_epoch_ratchet(
                path,
                EpochRatchet.generate(demo=True, floor=timezone.localdate()),
                exclusive=True,
            )
    return RetentionEpochs(path, read_epoch_ratchet(path))


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
        self._epochs: RetentionEpochs | None = None
        self._epochs_checked = 0.0
        # Wrapping keys per (master version, epoch): HKDF once, not per data key.
        self._wrapping: dict[tuple[int, date], AESGCM] = {}

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

    def epochs(self) -> RetentionEpochs:
        """The key store's retention epochs, checked for changes (one stat) at most once a
        second: a stat per data key was a tenth of the cost of making one."""
        if self._epochs is None:
            with self._lock:
                if self._epochs is None:
                    self._epochs = open_retention_epochs(demo=self._ring.demo)
                    self._epochs_checked = time.monotonic()
        elif time.monotonic() - self._epochs_checked >= EPOCH_CHECK_SECONDS:
            self._epochs_checked = time.monotonic()
            if self._epochs.reload_if_changed():
                self._wrapping = {}
        return self._epochs

    def _aead(self, version: int, key: bytes, epoch: date | None) -> AESGCM:
        if epoch is None:
            return AESGCM(key)
        epochs = self.epochs()
        aead = self._wrapping.get((version, epoch))
        if aead is None:
            # Both secrets are needed: the master key (backed up, rotated) and the epoch key
            # (destroyed when the epoch passes).
            derived = HKDF(
                algorithm=hashes.SHA256(),
                length=KEY_BYTES,
                salt=None,
                info=b"confide:data-key-wrap:" + epoch.isoformat().encode(),
            ).derive(key + epochs.key(epoch))
            aead = self._wrapping[(version, epoch)] = AESGCM(derived)
        elif epoch < epochs.floor:
            raise EpochDestroyed(f"The key of retention epoch {epoch} was destroyed.")
        return aead

    def wrap(
        self, data_key: bytes, *, associated_data: bytes, epoch: date | None = None
    ) -> tuple[int, bytes]:
        self.reload_if_changed()
        version = self._ring.active_version
        nonce = secrets.token_bytes(NONCE_BYTES)
        aead = self._aead(version, self._ring.master_keys[version], epoch)
        return version, nonce + aead.encrypt(nonce, data_key, associated_data)

    def unwrap(
        self, version: int, wrapped: bytes, *, associated_data: bytes, epoch: date | None = None
    ) -> bytes:
        key = self._ring.master_keys.get(version)
        if key is None and self._path is not None:
            self.reload()
            key = self._ring.master_keys.get(version)
        if key is None:
            raise KeyUnavailable(
                f"Master key version {version} is not available to this process; "
                "check CONFIDE_KEYS_FILE or CONFIDE_MASTER_KEYS."
            )
        aead = self._aead(version, key, epoch)
        try:
            return aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], associated_data)
        except InvalidTag as exc:
            raise KeyUnavailable(
                f"A data key did not unwrap with master key version {version}"
                + (f" and retention epoch {epoch}." if epoch else ".")
            ) from exc

    def reload(self) -> None:
        if self._path is None:
            return
        with self._lock:
            state = self._stat()
            self._ring = read_key_ring(self._path)
            self._file_state = state
            self._wrapping = {}

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
            self._wrapping = {}

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
