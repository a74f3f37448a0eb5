"""Rotating master keys online: add a version, re-wrap every data key, retire the old one."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from confide.people.models import Person
from confide.people.selectors import person_details
from confide.people.services import erase_person
from confide.people.tests.factories import PersonFactory
from confide.privacy.keys import (
    KeyUnavailable,
    LocalMasterKeys,
    master_keys,
    read_key_ring,
    reset_master_keys_cache,
)
from confide.privacy.models import DataKey
from confide.privacy.services import (
    add_master_key_version,
    data_keys_needing_rewrap,
    retire_unused_master_keys,
    rewrap_data_keys,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(own_key_ring):
    """People sealed under master key version 1 of a key ring this test may rotate."""
    crowd = PersonFactory.create_batch(5)
    return {person.pk: person_details(person) for person in crowd}


def details_now(pk):
    return person_details(Person.objects.select_related("data_key").get(pk=pk))


def test_adding_a_master_key_version_makes_it_active(own_key_ring):
    new = add_master_key_version()

    assert new == 2
    assert master_keys().active_version == 2
    assert read_key_ring(own_key_ring).active_version == 2


def test_adding_a_master_key_version_keeps_the_old_one(own_key_ring):
    add_master_key_version()

    assert sorted(read_key_ring(own_key_ring).master_keys) == [1, 2]


def test_people_still_decrypt_after_a_new_version_is_added_but_before_rewrapping(people):
    add_master_key_version()

    assert {pk: details_now(pk) for pk in people} == people


def test_rewrapping_moves_every_live_data_key_to_the_new_version(people):
    new = add_master_key_version()

    rewrapped = rewrap_data_keys()

    assert rewrapped == len(people)
    assert (
        not DataKey.objects.exclude(master_version=new).filter(destroyed_at__isnull=True).exists()
    )


def test_rewrapping_records_when_each_key_was_rewrapped(people):
    add_master_key_version()

    rewrap_data_keys()

    assert not DataKey.objects.filter(rewrapped_at__isnull=True).exists()


def test_every_person_still_decrypts_after_rewrapping(people):
    add_master_key_version()

    rewrap_data_keys()

    assert {pk: details_now(pk) for pk in people} == people


def test_rewrapping_changes_the_stored_wrapped_keys(people):
    before = dict(DataKey.objects.values_list("pk", "wrapped_key"))
    add_master_key_version()

    rewrap_data_keys()

    after = dict(DataKey.objects.values_list("pk", "wrapped_key"))
    assert all(bytes(after[pk] or b"") != bytes(before[pk] or b"") for pk in before)


def test_rewrapping_skips_destroyed_data_keys(people):
    erased_pk = next(iter(people))
    erase_person(person=Person.objects.get(pk=erased_pk))
    add_master_key_version()

    rewrapped = rewrap_data_keys()

    assert rewrapped == len(people) - 1
    erased_key = Person.objects.get(pk=erased_pk).data_key
    assert erased_key.wrapped_key is None
    assert erased_key.master_version is None


def test_rewrapping_reports_progress_batch_by_batch(people, monkeypatch):
    monkeypatch.setattr("confide.privacy.services.REWRAP_BATCH", 2)
    add_master_key_version()
    batches: list[int] = []

    rewrap_data_keys(on_batch=batches.append)

    assert batches == [2, 2, 1]


def test_nothing_needs_rewrapping_once_rewrapping_is_done(people):
    add_master_key_version()
    assert data_keys_needing_rewrap() == len(people)

    rewrap_data_keys()

    assert data_keys_needing_rewrap() == 0


def test_an_old_version_still_in_use_is_not_retired(people, own_key_ring):
    add_master_key_version()

    retired = retire_unused_master_keys()

    assert retired == []
    assert sorted(read_key_ring(own_key_ring).master_keys) == [1, 2]


def test_retiring_removes_the_unused_old_version_from_the_key_ring_file(people, own_key_ring):
    add_master_key_version()
    rewrap_data_keys()

    retired = retire_unused_master_keys()

    ring = read_key_ring(own_key_ring)
    assert retired == [1]
    assert sorted(ring.master_keys) == [2]
    assert ring.retired == [1]


def test_people_still_decrypt_after_the_old_version_is_retired(people):
    add_master_key_version()
    rewrap_data_keys()
    retire_unused_master_keys()

    assert {pk: details_now(pk) for pk in people} == people


def test_a_freshly_started_process_decrypts_everyone_after_rotation(people):
    add_master_key_version()
    rewrap_data_keys()
    retire_unused_master_keys()

    reset_master_keys_cache()

    assert master_keys().versions() == [2]
    assert {pk: details_now(pk) for pk in people} == people


def test_the_active_version_is_never_retired(own_key_ring):
    retired = retire_unused_master_keys()

    assert retired == []
    assert sorted(read_key_ring(own_key_ring).master_keys) == [1]


def test_a_process_holding_only_the_old_ring_rereads_the_file_for_an_unknown_version(own_key_ring):
    stale = LocalMasterKeys(read_key_ring(own_key_ring), path=own_key_ring)
    add_master_key_version()
    data_key = AESGCM.generate_key(bit_length=256)
    version, wrapped = master_keys().wrap(data_key, associated_data=b"subject")
    assert stale.versions() == [1]

    unwrapped = stale.unwrap(version, wrapped, associated_data=b"subject")

    assert unwrapped == data_key
    assert stale.versions() == [1, 2]


def test_keys_from_the_environment_cannot_reload_an_unknown_version(own_key_ring):
    from_environment = LocalMasterKeys(read_key_ring(own_key_ring))
    add_master_key_version()
    version, wrapped = master_keys().wrap(b"k" * 32, associated_data=b"subject")

    with pytest.raises(KeyUnavailable):
        from_environment.unwrap(version, wrapped, associated_data=b"subject")


def test_a_running_process_wraps_new_data_keys_so_a_restarted_process_can_unwrap_them(
    own_key_ring,
):
    # A web process loads the ring, then `keys rotate` runs in another process (add, re-wrap,
    # retire). Data keys the web process wraps afterwards must stay readable once it restarts.
    web_process = LocalMasterKeys(read_key_ring(own_key_ring), path=own_key_ring)
    add_master_key_version()
    rewrap_data_keys()
    retire_unused_master_keys()

    version, wrapped = web_process.wrap(b"k" * 32, associated_data=b"subject")

    restarted = LocalMasterKeys(read_key_ring(own_key_ring), path=own_key_ring)
    assert restarted.unwrap(version, wrapped, associated_data=b"subject") == b"k" * 32


def test_adding_a_version_in_a_process_with_a_stale_ring_keeps_the_version_another_process_added(
    own_key_ring,
):
    # This process loaded version 1; meanwhile another process rotated to version 2 and
    # wrapped data keys under it. Rotating again here must not replace that version 2 key.
    assert master_keys().versions() == [1]
    other_process = LocalMasterKeys(read_key_ring(own_key_ring), path=own_key_ring)
    ring = other_process.ring
    other_process.save(
        replace(
            ring,
            master_keys={**ring.master_keys, 2: AESGCM.generate_key(bit_length=256)},
            active_version=2,
        )
    )
    version, wrapped = other_process.wrap(b"k" * 32, associated_data=b"subject")

    add_master_key_version()

    restarted = LocalMasterKeys(read_key_ring(own_key_ring), path=own_key_ring)
    assert restarted.unwrap(version, wrapped, associated_data=b"subject") == b"k" * 32
