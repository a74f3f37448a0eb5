"""Sealing fields under per-subject data keys, and wrapping those keys under master keys."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from confide.privacy.crypto import SubjectKey, TamperedCiphertext, new_data_key, unwrap_data_key
from confide.privacy.keys import DataKeyDestroyed, KeyUnavailable, master_keys
from confide.privacy.models import DataKey
from confide.privacy.services import add_master_key_version


def subject_key() -> SubjectKey:
    return SubjectKey(uuid.uuid4(), AESGCM(AESGCM.generate_key(bit_length=256)))


KEY = subject_key()
OTHER_KEY = subject_key()


# No deadline: on a loaded machine the first example can be slow for reasons of its own.
@settings(deadline=None)
@given(text=st.text(min_size=1))
def test_a_sealed_value_opens_to_the_same_text(text):
    assert KEY.open("person.given_name", KEY.seal("person.given_name", text)) == text


@settings(deadline=None)
@given(text=st.text(alphabet=st.characters(min_codepoint=0x80, codec="utf-8"), min_size=1))
def test_non_ascii_text_round_trips_exactly(text):
    assert KEY.open("person.address", KEY.seal("person.address", text)) == text


def test_a_sealed_value_does_not_contain_the_plaintext():
    sealed = KEY.seal("person.email", "siobhan.o'neill@example.org")

    assert sealed is not None
    assert b"siobhan" not in sealed


def test_sealing_the_same_value_twice_gives_different_ciphertexts():
    assert KEY.seal("person.phone", "+447700900123") != KEY.seal("person.phone", "+447700900123")


@pytest.mark.parametrize("blank", ["", None])
def test_a_blank_value_is_stored_as_nothing(blank):
    assert KEY.seal("person.phone", blank) is None
    assert KEY.open("person.phone", None) is None


def test_a_ciphertext_moved_to_another_field_fails_to_open():
    sealed = KEY.seal("person.family_name", "Okonkwo")

    with pytest.raises(TamperedCiphertext):
        KEY.open("person.given_name", sealed)


def test_a_ciphertext_sealed_under_another_subjects_key_fails_to_open():
    sealed = OTHER_KEY.seal("person.family_name", "Okonkwo")

    with pytest.raises(TamperedCiphertext):
        KEY.open("person.family_name", sealed)


def test_a_ciphertext_with_one_bit_flipped_fails_to_open():
    sealed = bytearray(KEY.seal("person.nhs_number", "9434765919") or b"")
    sealed[-1] ^= 0x01

    with pytest.raises(TamperedCiphertext):
        KEY.open("person.nhs_number", bytes(sealed))


def test_a_ciphertext_of_an_unknown_format_fails_to_open():
    sealed = KEY.seal("person.nhs_number", "9434765919") or b""

    with pytest.raises(TamperedCiphertext):
        KEY.open("person.nhs_number", b"\x02" + sealed[1:])


def test_a_new_data_key_is_wrapped_by_the_active_master_version():
    row, _ = new_data_key()

    assert row.master_version == master_keys().active_version
    assert row.wrapped_key is not None
    assert row.destroyed_at is None


@pytest.mark.django_db
def test_a_new_data_key_is_wrapped_by_a_newly_added_master_version(own_key_ring):
    new_version = add_master_key_version()

    row, _ = new_data_key()

    assert row.master_version == new_version


@pytest.mark.django_db
def test_a_saved_data_key_unwraps_to_a_key_that_opens_what_it_sealed():
    row, key = new_data_key()
    row.save(force_insert=True)
    sealed = key.seal("person.postcode", "SW1A 1AA")

    unwrapped = unwrap_data_key(DataKey.objects.get(pk=row.pk))

    assert unwrapped.open("person.postcode", sealed) == "SW1A 1AA"


def test_a_wrapped_data_key_does_not_unwrap_under_another_data_keys_id():
    row, _ = new_data_key()
    moved = DataKey(id=uuid.uuid4(), wrapped_key=row.wrapped_key, master_version=row.master_version)

    with pytest.raises(KeyUnavailable):
        unwrap_data_key(moved)


def test_a_destroyed_data_key_cannot_be_unwrapped():
    destroyed = DataKey(id=uuid.uuid4(), wrapped_key=None, master_version=None)

    with pytest.raises(DataKeyDestroyed):
        unwrap_data_key(destroyed)
