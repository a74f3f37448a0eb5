"""The `keys rotate` and `keys status` management commands."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from confide.people.models import Person
from confide.people.selectors import person_details
from confide.people.services import erase_person
from confide.people.tests.factories import PersonFactory
from confide.privacy.keys import master_keys, read_key_ring, reset_master_keys_cache
from confide.privacy.models import DataKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(own_key_ring):
    crowd = PersonFactory.create_batch(3)
    return {person.pk: person_details(person) for person in crowd}


def printed(capsys) -> str:
    """What the command printed, with rich's line wrapping undone."""
    return " ".join(capsys.readouterr().out.split())


def details_now(pk):
    return person_details(Person.objects.select_related("data_key").get(pk=pk))


def test_rotate_rewraps_every_data_key_under_the_new_version(people):
    call_command("keys", "rotate")

    assert set(DataKey.objects.values_list("master_version", flat=True)) == {2}


def test_rotate_with_retire_removes_the_old_version_from_the_key_ring(people, own_key_ring):
    call_command("keys", "rotate", "--retire")

    ring = read_key_ring(own_key_ring)
    assert sorted(ring.master_keys) == [2]
    assert ring.active_version == 2


def test_rotate_keeps_the_old_version_for_running_processes_until_retire(people, own_key_ring):
    call_command("keys", "rotate")

    assert sorted(read_key_ring(own_key_ring).master_keys) == [1, 2]
    call_command("keys", "retire")
    assert sorted(read_key_ring(own_key_ring).master_keys) == [2]


def test_rotate_keeps_the_old_version_by_default(people, own_key_ring):
    call_command("keys", "rotate")

    assert sorted(read_key_ring(own_key_ring).master_keys) == [1, 2]


def test_everyone_still_decrypts_in_a_fresh_process_after_rotate(people):
    call_command("keys", "rotate")
    reset_master_keys_cache()

    assert {pk: details_now(pk) for pk in people} == people


def test_rotate_says_which_version_is_active_and_how_many_keys_it_rewrapped(people, capsys):
    call_command("keys", "rotate", "--retire")

    out = printed(capsys)
    assert "Master key version 2 is active; re-wrapping 3 data keys." in out
    assert "Re-wrapped 3 data keys under version 2." in out
    assert "Removed unused master key versions [1] from the key ring." in out


def test_rotating_twice_moves_everyone_to_the_third_version(people):
    call_command("keys", "rotate", "--retire")
    call_command("keys", "rotate", "--retire")

    assert master_keys().versions() == [3]
    assert {pk: details_now(pk) for pk in people} == people


def test_status_shows_the_active_version_and_what_each_version_wraps(people, capsys):
    call_command("keys", "rotate")
    PersonFactory.create()
    capsys.readouterr()

    call_command("keys", "status")

    out = printed(capsys)
    assert "active version 2" in out
    assert "version 1: wraps 0 data keys" in out
    assert "version 2: wraps 4 data keys" in out


def test_status_counts_destroyed_data_keys(people, capsys):
    erase_person(person=Person.objects.get(pk=next(iter(people))))

    call_command("keys", "status")

    out = printed(capsys)
    assert "version 1: wraps 2 data keys" in out
    assert "destroyed (erased) data keys: 1" in out


def test_status_writes_to_the_output_stream_call_command_is_given(people):
    # Django's contract for commands: output goes to self.stdout, so call_command(stdout=...)
    # and any caller embedding the command can capture it.
    out = io.StringIO()

    call_command("keys", "status", stdout=out)

    assert "active version 1" in out.getvalue()
