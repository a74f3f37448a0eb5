"""Blind indexes: equal normalised values match, and nothing else links them."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confide.people.validation import normalise_email, normalise_nhs_number, normalise_postcode
from confide.privacy.blind_index import INDEX_HEX_LENGTH, IndexKind, blind_index


@given(kind=st.sampled_from(IndexKind), value=st.text(min_size=1))
def test_the_index_of_a_value_is_the_same_every_time(kind, value):
    assert blind_index(kind, value) == blind_index(kind, value)


@given(kind=st.sampled_from(IndexKind), value=st.text(min_size=1))
def test_an_index_is_a_fixed_length_hex_digest(kind, value):
    assert re.fullmatch(f"[0-9a-f]{{{INDEX_HEX_LENGTH}}}", blind_index(kind, value) or "")


@pytest.mark.parametrize(
    ("kind", "typed", "normalise"),
    [
        (
            IndexKind.EMAIL,
            ["Ada.Lovelace@Example.org", " ada.lovelace@example.ORG "],
            normalise_email,
        ),
        (
            IndexKind.NHS_NUMBER,
            ["943 476 5919", "943-476-5919", "9434765919"],
            normalise_nhs_number,
        ),
        (IndexKind.POSTCODE, ["sw1a1aa", "SW1A 1AA", " Sw1A  1aA"], normalise_postcode),
    ],
)
def test_values_typed_differently_but_equal_once_normalised_share_an_index(kind, typed, normalise):
    assert len({blind_index(kind, normalise(value)) for value in typed}) == 1


def test_different_values_have_different_indexes():
    assert blind_index(IndexKind.EMAIL, "ada@example.org") != blind_index(
        IndexKind.EMAIL, "ada@example.com"
    )


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(IndexKind, 2)))
def test_the_same_value_has_unrelated_indexes_in_different_kinds(first, second):
    value = "ada.lovelace@example.org"

    assert blind_index(first, value) != blind_index(second, value)


@pytest.mark.parametrize("blank", ["", None])
def test_a_blank_value_has_no_index(blank):
    assert blind_index(IndexKind.EMAIL, blank) is None


def test_the_index_changes_with_a_different_index_key(request):
    before = blind_index(IndexKind.NHS_NUMBER, "9434765919")
    request.getfixturevalue("own_key_ring")

    after = blind_index(IndexKind.NHS_NUMBER, "9434765919")

    assert after is not None
    assert after != before
