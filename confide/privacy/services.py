"""Key management: create the key ring, rotate master keys online, retire old versions; move
data keys between retention epochs and destroy the epochs that have passed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import models, transaction
from django.utils import timezone

from confide.privacy.crypto import rewrap, rewrap_in_epoch
from confide.privacy.keys import (
    EpochRatchet,
    KeyRing,
    epoch_store_path,
    master_keys,
    reset_master_keys_cache,
    write_epoch_ratchet,
    write_key_ring,
)
from confide.privacy.models import DataKey

REWRAP_BATCH = 1000


class KeyRingExists(Exception):
    pass


class KeyVersionInUse(Exception):
    pass


class EpochInUse(Exception):
    """Destroying these epochs would lose data keys that are still live."""


def init_key_ring(*, path: Path, demo: bool) -> KeyRing:
    """Write a new key ring; refuses to overwrite one (that would make all data unreadable)."""
    if path.exists():
        raise KeyRingExists(
            f"A key ring already exists at {path}. Overwriting it would make every encrypted "
            "record unreadable; use `confide keys rotate` to change keys."
        )
    ring = KeyRing.generate(demo=demo)
    write_key_ring(path, ring)
    init_epoch_store(demo=demo)
    reset_master_keys_cache()
    return ring


def init_epoch_store(*, demo: bool) -> bool:
    """Create the retention epoch store if there is none (False: one exists, left alone).

    Run once, against the key store every server shares: a server that made its own would
    wrap data keys under epochs the others cannot derive.
    """
    path = epoch_store_path()
    if path.exists():
        return False
    ratchet = EpochRatchet.generate(demo=demo, floor=timezone.localdate())
    try:
        write_epoch_ratchet(path, ratchet, exclusive=True)
    except FileExistsError:
        return False
    reset_master_keys_cache()
    return True


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


def live_keys_in_epochs_before(floor: date) -> models.QuerySet[DataKey]:
    """Live data keys wrapped under an epoch before `floor`: destroying it would lose them."""
    return DataKey.objects.filter(destroyed_at__isnull=True, retention_epoch__lt=floor)


def move_data_keys_to_epochs(epochs: Mapping[uuid.UUID, date | None]) -> int:
    """Re-wrap each live data key under its new retention epoch (None: the master key alone).

    One transaction per batch, rows locked, so a concurrent rotation or erasure is not undone.
    Keys destroyed meanwhile are skipped.
    """
    moved = 0
    ids = sorted(epochs)
    for start in range(0, len(ids), REWRAP_BATCH):
        with transaction.atomic():
            batch = list(
                DataKey.objects.select_for_update()
                .filter(pk__in=ids[start : start + REWRAP_BATCH], destroyed_at__isnull=True)
                .order_by("pk")
            )
            now = timezone.now()
            for row in batch:
                epoch = epochs[row.pk]
                row.master_version, row.wrapped_key = rewrap_in_epoch(row, epoch)
                row.retention_epoch = epoch
                row.rewrapped_at = now
            DataKey.objects.bulk_update(
                batch, ["master_version", "wrapped_key", "retention_epoch", "rewrapped_at"]
            )
        moved += len(batch)
    return moved


def destroy_epochs_before(floor: date) -> EpochRatchet:
    """Destroy the key store's keys of every retention epoch before `floor`.

    Refuses (EpochInUse) while any live data key is still wrapped under one of them: the
    caller re-wraps those first (the retention sweep does). Checked under the store's lock,
    so two sweeps cannot interleave.
    """
    epochs = master_keys().epochs()
    with epochs.exclusive():
        ratchet = epochs.ratchet
        if floor <= ratchet.floor:
            return ratchet
        in_use = live_keys_in_epochs_before(floor).count()
        if in_use:
            raise EpochInUse(
                f"{in_use} live data keys are still wrapped under epochs before {floor}; "
                "re-wrap them first (the retention sweep does)."
            )
        advanced = ratchet.advanced_to(floor)
        epochs.save(advanced)
    return advanced
