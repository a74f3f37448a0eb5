"""Retention epochs: data keys wrapped under master key and epoch key; epochs destroyed by a
one-way ratchet in the key store, shared by every process, never while a live key needs one."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from confide.people.models import Person
from confide.people.selectors import person_details
from confide.people.tests.factories import PersonFactory
from confide.privacy.crypto import new_data_key, rewrap_in_epoch, unwrap_data_key
from confide.privacy.keys import (
    EpochDestroyed,
    KeyUnavailable,
    LocalMasterKeys,
    read_key_ring,
    reset_master_keys_cache,
)
from confide.privacy.models import DataKey
from confide.privacy.services import (
    EpochInUse,
    destroy_epochs_before,
    move_data_keys_to_epochs,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def another_process(ring_path: Path) -> LocalMasterKeys:
    """A second server sharing the key store: its own provider over the same files."""
    return LocalMasterKeys(read_key_ring(ring_path), path=ring_path)


def details_now(pk: int) -> object:
    return person_details(Person.objects.select_related("data_key").get(pk=pk))


def test_a_new_data_key_is_wrapped_under_an_epoch_two_days_ahead(own_key_ring):
    row, _ = new_data_key()

    assert row.retention_epoch == TODAY + timedelta(days=2)


def test_a_data_key_does_not_open_under_another_epoch(own_key_ring):
    person = PersonFactory.create()
    key = DataKey.objects.get(pk=person.data_key_id)
    assert key.retention_epoch is not None
    key.retention_epoch = key.retention_epoch + timedelta(days=1)

    with pytest.raises(KeyUnavailable):
        unwrap_data_key(key)


def test_another_process_sharing_the_key_store_derives_the_same_epoch_keys(own_key_ring):
    person = PersonFactory.create()
    key = DataKey.objects.get(pk=person.data_key_id)
    assert key.retention_epoch is not None
    assert key.wrapped_key is not None

    raw = another_process(own_key_ring).unwrap(
        key.master_version or 0,
        bytes(key.wrapped_key),
        associated_data=b"confide:data-key:" + key.id.bytes,
        epoch=key.retention_epoch,
    )

    assert len(raw) == 32


def test_destroying_an_epoch_a_live_key_needs_is_refused_and_the_key_still_opens(own_key_ring):
    person = PersonFactory.create()
    expected = person_details(person)

    with pytest.raises(EpochInUse):
        destroy_epochs_before(TODAY + timedelta(days=10))

    reset_master_keys_cache()
    assert details_now(person.pk) == expected


def test_a_key_moved_to_a_later_epoch_survives_the_destruction_of_its_old_one(own_key_ring):
    person = PersonFactory.create()
    expected = person_details(person)
    later = TODAY + timedelta(days=30)

    move_data_keys_to_epochs({person.data_key_id: later})
    destroy_epochs_before(TODAY + timedelta(days=10))
    reset_master_keys_cache()

    assert DataKey.objects.get(pk=person.data_key_id).retention_epoch == later
    assert details_now(person.pk) == expected


def test_a_copy_of_a_key_from_before_its_epoch_was_destroyed_no_longer_opens(own_key_ring):
    person = PersonFactory.create()
    copy = DataKey.objects.get(pk=person.data_key_id)
    unwrap_data_key(copy)  # the copy is good while its epoch lives

    move_data_keys_to_epochs({person.data_key_id: TODAY + timedelta(days=30)})
    destroy_epochs_before(TODAY + timedelta(days=10))
    reset_master_keys_cache()

    with pytest.raises(EpochDestroyed):
        unwrap_data_key(copy)


def test_a_running_process_stops_opening_a_destroyed_epoch_once_it_sees_the_store(
    own_key_ring, monkeypatch
):
    monkeypatch.setattr("confide.privacy.keys.EPOCH_CHECK_SECONDS", 0.0)
    person = PersonFactory.create()
    copy = DataKey.objects.get(pk=person.data_key_id)
    other = another_process(own_key_ring)
    unwrap = {
        "associated_data": b"confide:data-key:" + copy.id.bytes,
        "epoch": copy.retention_epoch,
    }
    assert copy.wrapped_key is not None
    assert copy.master_version is not None
    other.unwrap(copy.master_version, bytes(copy.wrapped_key), **unwrap)  # type: ignore[arg-type]

    move_data_keys_to_epochs({person.data_key_id: TODAY + timedelta(days=30)})
    destroy_epochs_before(TODAY + timedelta(days=10))

    with pytest.raises(EpochDestroyed):
        other.unwrap(copy.master_version, bytes(copy.wrapped_key), **unwrap)  # type: ignore[arg-type]


def test_the_epoch_store_after_destruction_holds_nothing_that_opens_the_old_copy(own_key_ring):
    """An attacker ignoring the floor: every epoch key derivable from the store as it is now,
    with every master key, against the copy taken before — none opens it."""
    person = PersonFactory.create()
    copy = DataKey.objects.get(pk=person.data_key_id)
    assert copy.wrapped_key is not None
    assert copy.master_version is not None
    move_data_keys_to_epochs({person.data_key_id: TODAY + timedelta(days=30)})
    destroy_epochs_before(TODAY + timedelta(days=10))
    reset_master_keys_cache()

    provider = another_process(own_key_ring)
    floor = provider.epochs().floor
    associated_data = b"confide:data-key:" + copy.id.bytes
    opened = 0
    for offset in range(400):
        epoch_key = provider.epochs().key(floor + timedelta(days=offset))
        # Under its own date, and labelled with the destroyed epoch's date, as an attacker would.
        for label in (copy.retention_epoch, floor + timedelta(days=offset)):
            assert label is not None
            try:
                _open_with(provider, epoch_key, label, copy, associated_data)
                opened += 1
            except KeyUnavailable:
                pass
    with pytest.raises(KeyUnavailable):
        provider.unwrap(
            copy.master_version, bytes(copy.wrapped_key), associated_data=associated_data
        )
    assert opened == 0


def _open_with(
    provider: LocalMasterKeys, epoch_key: bytes, label: object, copy: DataKey, aad: bytes
) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    assert copy.wrapped_key is not None
    wrapped = bytes(copy.wrapped_key)
    for master in provider.ring.master_keys.values():
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=b"confide:data-key-wrap:" + str(label).encode(),
        ).derive(master + epoch_key)
        try:
            return AESGCM(derived).decrypt(wrapped[:12], wrapped[12:], aad)
        except InvalidTag:
            continue
    raise KeyUnavailable("no derivable key opens it")


def test_the_store_keeps_only_the_oldest_live_epoch_and_its_chain_value(own_key_ring):
    destroy_epochs_before(TODAY + timedelta(days=3))

    stored = json.loads((own_key_ring.parent / "epochs.json").read_text())
    assert set(stored) == {"format", "demo", "floor", "chain", "advanced_at"}
    assert stored["floor"] == (TODAY + timedelta(days=3)).isoformat()


def test_destroying_epochs_never_moves_the_store_backwards(own_key_ring):
    destroy_epochs_before(TODAY + timedelta(days=5))
    destroy_epochs_before(TODAY + timedelta(days=2))

    reset_master_keys_cache()
    row, _ = new_data_key()
    assert row.retention_epoch == TODAY + timedelta(days=5), "never under a destroyed epoch"


def test_a_key_without_an_epoch_is_wrapped_by_the_master_key_alone_and_opens(own_key_ring):
    """Keys made before epochs (and staff keys) keep working."""
    person = PersonFactory.create()
    expected = person_details(person)
    key = DataKey.objects.get(pk=person.data_key_id)
    key.master_version, key.wrapped_key = rewrap_in_epoch(key, None)
    key.retention_epoch = None
    key.save()

    destroy_epochs_before(TODAY + timedelta(days=400))
    reset_master_keys_cache()

    assert details_now(person.pk) == expected
