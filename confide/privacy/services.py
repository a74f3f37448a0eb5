"""Key management: create the key ring, rotate master keys online, retire old versions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import transaction
from django.utils import timezone

from confide.privacy.crypto import rewrap
from confide.privacy.keys import KeyRing, master_keys, reset_master_keys_cache, write_key_ring
from confide.privacy.models import DataKey

REWRAP_BATCH = 1000


class KeyRingExists(Exception):
    pass


class KeyVersionInUse(Exception):
    pass


def init_key_ring(*, path: Path, demo: bool) -> KeyRing:
    """Write a new key ring; refuses to overwrite one (that would make all data unreadable)."""
    if path.exists():
        raise KeyRingExists(
            f"A key ring already exists at {path}. Overwriting it would make every encrypted "
            "record unreadable; use `confide keys rotate` to change keys."
        )
    ring = KeyRing.generate(demo=demo)
    write_key_ring(path, ring)
    reset_master_keys_cache()
    return ring


def add_master_key_version() -> int:
    """Add a new master key version and make it active for new wrapping."""
    provider = master_keys()
    with provider.exclusive():
        ring = provider.ring
        version = max([*ring.master_keys, *ring.retired]) + 1
        provider.save(
            replace(
                ring,
                master_keys={**ring.master_keys, version: AESGCM.generate_key(bit_length=256)},
                active_version=version,
            )
        )
    return version


def data_keys_needing_rewrap() -> int:
    return (
        DataKey.objects.filter(destroyed_at__isnull=True)
        .exclude(master_version=master_keys().active_version)
        .count()
    )


def rewrap_data_keys(*, on_batch: Callable[[int], None] | None = None) -> int:
    """Re-wrap every live data key under the active master key, in small transactions.

    Online: readers keep working throughout, since each row names the version that wraps it
    and both versions stay in the ring until `retire_unused_master_keys`.
    """
    active = master_keys().active_version
    done = 0
    while True:
        with transaction.atomic():
            batch = list(
                DataKey.objects.select_for_update()
                .filter(destroyed_at__isnull=True)
                .exclude(master_version=active)
                .order_by("pk")[:REWRAP_BATCH]
            )
            if not batch:
                return done
            now = timezone.now()
            for row in batch:
                row.master_version, row.wrapped_key = rewrap(row)
                row.rewrapped_at = now
            DataKey.objects.bulk_update(batch, ["master_version", "wrapped_key", "rewrapped_at"])
        done += len(batch)
        if on_batch:
            on_batch(len(batch))


def retire_unused_master_keys() -> list[int]:
    """Remove master key versions that no data key uses any more (never the active one)."""
    provider = master_keys()
    with provider.exclusive():
        ring = provider.ring
        in_use = set(
            DataKey.objects.filter(destroyed_at__isnull=True)
            .values_list("master_version", flat=True)
            .distinct()
        )
        retire = [v for v in ring.master_keys if v != ring.active_version and v not in in_use]
        if retire:
            provider.save(
                replace(
                    ring,
                    master_keys={v: k for v, k in ring.master_keys.items() if v not in retire},
                    retired=sorted({*ring.retired, *retire}),
                )
            )
    return retire
