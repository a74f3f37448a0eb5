"""Keyed encodings of a person's details for fuzzy matching without plaintext.

Each compared field becomes a Bloom filter of its character bigrams in the style of
privacy-preserving record linkage (Schnell et al. 2009, field-level "CLK"s): a bigram sets k
bits whose positions come from a keyed BLAKE2b digest, so the similarity of two names is the
Dice coefficient of their filters while neither name can be read back without the key. A few
values compare only as equal or not (the exact given name, its formal form, phone, email);
they are kept as 64-bit keyed tokens. Blocking keys (keyed hashes of phonetic codes and date
parts) find the candidates to compare with one indexed lookup each.

Hand-written rather than a library: the PPRL packages on PyPI (clkhash, anonlink) encode with
k HMACs per n-gram and depend on numpy at run time; we need one keyed hash per n-gram, cached
per n-gram, to encode a person in tens of microseconds, with keys from our own key store.
The layout of an encoding is fixed (`LAYOUT`); a change of layout bumps `ENCODING_VERSION`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache

import jellyfish

from confide.matching.nicknames import canonical_given_name
from confide.privacy.blind_index import purpose_key

ENCODING_VERSION = 1
BITS_PER_GRAM = 4


class Field(StrEnum):
    GIVEN = "given"
    FAMILY = "family"
    DOB = "dob"
    ADDRESS = "address"
    POSTCODE = "postcode"
    NHS = "nhs"


class Token(StrEnum):
    GIVEN_EXACT = "given_exact"
    GIVEN_FORMAL = "given_formal"
    PHONE = "phone"
    EMAIL = "email"


# Filter sizes in bits, by field: about 4x the bits a typical value sets, so filters of
# different values rarely share bits by chance.
FILTER_BITS: dict[Field, int] = {
    Field.GIVEN: 256,
    Field.FAMILY: 256,
    Field.DOB: 256,
    Field.ADDRESS: 512,
    Field.POSTCODE: 128,
    Field.NHS: 256,
}
TOKEN_BYTES = 8
LAYOUT: tuple[tuple[str, int], ...] = tuple(
    [(str(f), FILTER_BITS[f] // 8) for f in Field] + [(str(t), TOKEN_BYTES) for t in Token]
)
ENCODING_BYTES = sum(size for _, size in LAYOUT)
# (start, end) of each value in an encoding's bytes: filters, then tokens.
_SLICES = tuple(
    (sum(size for _, size in LAYOUT[:i]), sum(size for _, size in LAYOUT[: i + 1]))
    for i in range(len(LAYOUT))
)
_FILTER_SLICES = _SLICES[: len(Field)]
_TOKEN_SLICES = _SLICES[len(Field) :]
# The exact and formal given-name tokens, side by side: (start, end) in an encoding's bytes.
# The household rule reads only these of people sharing an email or phone.
assert tuple(Token)[:2] == (Token.GIVEN_EXACT, Token.GIVEN_FORMAL)
GIVEN_TOKENS_AT = (_TOKEN_SLICES[0][0], _TOKEN_SLICES[1][1])


@dataclass(frozen=True, slots=True)
class Comparable:
    """Normalised values of the fields that matching compares (plaintext, in memory only)."""

    given: str = ""
    family: str = ""
    dob: str = ""  # YYYYMMDD
    address: str = ""
    postcode: str = ""
    nhs_number: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class Encoding:
    """A person's keyed encoding: Bloom filters as ints (0 = missing) and tokens (0 = missing)."""

    filters: tuple[int, ...]  # in `Field` order
    tokens: tuple[int, ...]  # in `Token` order

    def to_bytes(self) -> bytes:
        parts = [
            value.to_bytes(size, "little")
            for value, (_, size) in zip(self.filters + self.tokens, LAYOUT, strict=True)
        ]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, raw: bytes | memoryview) -> Encoding:
        raw = bytes(raw)
        return cls(
            filters=tuple(int.from_bytes(raw[a:b], "little") for a, b in _FILTER_SLICES),
            tokens=tuple(int.from_bytes(raw[a:b], "little") for a, b in _TOKEN_SLICES),
        )


def given_tokens(raw: bytes | memoryview) -> tuple[int, int]:
    """(exact, formal) given-name tokens from the bytes at `GIVEN_TOKENS_AT`."""
    raw = bytes(raw)
    return (
        int.from_bytes(raw[:TOKEN_BYTES], "little"),
        int.from_bytes(raw[TOKEN_BYTES:], "little"),
    )


# --- normalisation ----------------------------------------------------------------------------

_NOT_LETTER = re.compile(r"[^a-z ]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9 ]+")


def _fold(value: str) -> str:
    """Lower case, accents removed, whitespace collapsed."""
    if value.isascii():
        folded = value.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", value)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(folded.split())


def name_letters(value: str) -> str:
    return " ".join(_NOT_LETTER.sub(" ", _fold(value)).split())


def address_text(value: str) -> str:
    return " ".join(_NOT_ALNUM.sub(" ", _fold(value)).split())


def postcode_text(value: str) -> str:
    return "".join(value.split()).upper()


# --- keyed hashing ----------------------------------------------------------------------------


class _Keys:
    """Per-purpose keys, derived from the index key (outside the database) once per process and
    again when the index key changes."""

    def __init__(self, seed: bytes) -> None:
        self.seed = seed
        # Given and family names share a key, so a record with the two names swapped can be
        # compared crosswise.
        self.filter_hash = {
            f: hashlib.blake2b(key=_derive(seed, f"filter:{_KEY_OF.get(f, f)}"), digest_size=8)
            for f in Field
        }
        self.token_hash = {
            t: hashlib.blake2b(key=_derive(seed, f"token:{t}"), digest_size=8) for t in Token
        }
        self.block_hash = hashlib.blake2b(key=_derive(seed, "blocking"), digest_size=8)
        # Bigram -> its bit mask, per field: a few thousand distinct bigrams make up nearly
        # every value, so each is hashed once per process rather than once per person.
        self.masks: dict[Field, dict[str, int]] = {f: {} for f in Field}
        self.masks[Field.FAMILY] = self.masks[Field.GIVEN]
        self.values: dict[Field, dict[str, int]] = {f: {} for f in Field}
        self.values[Field.FAMILY] = self.values[Field.GIVEN]
        self.codes: dict[str, tuple[str, str]] = {}
        self.tokens: dict[Token, dict[str, int]] = {t: {} for t in Token}


_KEY_OF = {Field.FAMILY: Field.GIVEN}


def _derive(seed: bytes, purpose: str) -> bytes:
    return hashlib.blake2b(purpose.encode(), key=seed, digest_size=32).digest()


@lru_cache(maxsize=4)
def _keys_for(seed: bytes) -> _Keys:
    return _Keys(seed)


def _keys() -> _Keys:
    return _keys_for(purpose_key("matching-encodings-v1"))


_CACHE_LIMIT = 200_000


def _mask(keys: _Keys, field: Field, gram: str) -> int:
    """The bits one n-gram sets: k positions from one keyed 64-bit digest."""
    cache = keys.masks[field]
    mask = cache.get(gram)
    if mask is None:
        h = keys.filter_hash[field].copy()
        h.update(gram.encode())
        digest = int.from_bytes(h.digest(), "little")
        size = FILTER_BITS[field]
        mask = 0
        for i in range(BITS_PER_GRAM):
            mask |= 1 << ((digest >> (16 * i)) % size)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[gram] = mask
    return mask


def _filter(keys: _Keys, field: Field, grams: list[str]) -> int:
    bits = 0
    cache = keys.masks[field]
    for gram in grams:
        mask = cache.get(gram)
        bits |= mask if mask is not None else _mask(keys, field, gram)
    return bits


def _cached_filter(keys: _Keys, field: Field, value: str, grams: Callable[[str], list[str]]) -> int:
    """The filter of a whole value (a word, a date, a postcode), cached: values repeat far
    more than people do, so most are a dictionary lookup."""
    cache = keys.values[field]
    bits = cache.get(value)
    if bits is None:
        bits = _filter(keys, field, grams(value))
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[value] = bits
    return bits


def _text_filter(keys: _Keys, field: Field, text: str) -> int:
    """The filter of a text's padded word bigrams: the union of its words' filters, since
    padding the whole text with single spaces gives the same bigrams as padding each word."""
    if not text:
        return 0
    bits = 0
    cache = keys.values[field]
    for word in text.split(" "):
        word_bits = cache.get(word)
        if word_bits is None:
            word_bits = _cached_filter(keys, field, word, bigrams)
        bits |= word_bits
    return bits


def _token(keys: _Keys, kind: Token, value: str) -> int:
    if not value:
        return 0
    h = keys.token_hash[kind].copy()
    h.update(value.encode())
    return int.from_bytes(h.digest(), "little") or 1


def _cached_token(keys: _Keys, kind: Token, value: str) -> int:
    cache = keys.tokens[kind]
    token = cache.get(value)
    if token is None:
        token = _token(keys, kind, value)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[value] = token
    return token


def bigrams(text: str) -> list[str]:
    """Bigrams of each word padded with spaces ("ann" -> " a", "an", "nn", "n ")."""
    if not text:
        return []
    padded = f" {text} "
    return [padded[i : i + 2] for i in range(len(padded) - 1)]


def dob_digits(dob: date | None) -> str:
    return f"{dob.year:04d}{dob.month:02d}{dob.day:02d}" if dob else ""


def _dob_grams(digits: str) -> list[str]:
    if not digits:
        return []
    grams = [digits[i : i + 2] for i in range(len(digits) - 1)]
    # Whole parts as well, so one wrong part (a day's digits swapped) leaves two agreeing.
    grams += [f"y{digits[:4]}", f"m{digits[4:6]}", f"d{digits[6:]}"]
    return grams


def _postcode_grams(postcode: str) -> list[str]:
    if not postcode:
        return []
    # The outward code (before the last three characters) on its own: a move within the
    # same district keeps it.
    return [*bigrams(postcode), f"o{postcode[:-3]}"]


def _phonetic(keys: _Keys, word: str) -> tuple[str, str]:
    """(soundex, metaphone) of a name word, cached like the filters."""
    codes = keys.codes.get(word)
    if codes is None:
        codes = (jellyfish.soundex(word), jellyfish.metaphone(word)) if word else ("", "")
        if len(keys.codes) >= _CACHE_LIMIT:
            keys.codes.clear()
        keys.codes[word] = codes
    return codes


def encode_and_block(values: Comparable) -> tuple[Encoding, list[int]]:
    """A person's keyed encoding and blocking keys, normalising each value once."""
    keys = _keys()
    given = name_letters(values.given)
    family = name_letters(values.family)
    first_given = given.split(" ", 1)[0] if given else ""
    formal = canonical_given_name(first_given)
    postcode = postcode_text(values.postcode)
    dob = values.dob
    filters = (
        _text_filter(keys, Field.GIVEN, given),
        _text_filter(keys, Field.FAMILY, family),
        _cached_filter(keys, Field.DOB, dob, _dob_grams) if dob else 0,
        _text_filter(keys, Field.ADDRESS, address_text(values.address)),
        _cached_filter(keys, Field.POSTCODE, postcode, _postcode_grams) if postcode else 0,
        _filter(keys, Field.NHS, bigrams(values.nhs_number)),
    )
    tokens = (
        _cached_token(keys, Token.GIVEN_EXACT, given),
        _cached_token(keys, Token.GIVEN_FORMAL, formal),
        _token(keys, Token.PHONE, values.phone),
        _token(keys, Token.EMAIL, values.email.lower()),
    )
    return Encoding(filters=filters, tokens=tokens), _blocking_keys(
        keys, values, family.replace(" ", ""), first_given, formal, postcode
    )


def encode(values: Comparable) -> Encoding:
    return encode_and_block(values)[0]


def same_given_name_token(given_name: str) -> int:
    """The keyed token of a given name exactly as the household rule compares it."""
    return _token(_keys(), Token.GIVEN_EXACT, name_letters(given_name))


# --- blocking ---------------------------------------------------------------------------------


def blocking_keys(values: Comparable) -> list[int]:
    """Keyed blocking keys: two records that could be one person share at least one of these.

    Each tolerates a different error: a misspelt surname (soundex), a wrong or missing date of
    birth (surname + postcode, given name + surname + year), a changed surname (given name +
    date of birth or postcode), a move (surname + date of birth), a nickname (formal given
    name), swapped names (both names' codes in order), the NHS number (with two digits
    transposed: `transposition_probes`).
    """
    return encode_and_block(values)[1]


def _blocking_keys(
    keys: _Keys, values: Comparable, family: str, first_given: str, formal: str, postcode: str
) -> list[int]:
    surname_code = _phonetic(keys, family)[0]
    given_code = _phonetic(keys, formal)[1]
    dob = values.dob
    year = dob[:4]
    # Both names' codes in sorted order: finds a record with given and family name swapped.
    given_soundex = _phonetic(keys, first_given)[0]
    either_name = "/".join(sorted((given_soundex, surname_code))) if given_soundex else ""
    either = either_name if surname_code else ""
    parts = [
        f"sd|{surname_code}|{dob}" if surname_code and dob else "",
        f"dp|{dob}|{postcode}" if dob and postcode else "",
        f"gsy|{given_code}|{surname_code}|{year}" if given_code and surname_code and year else "",
        f"sp|{surname_code}|{postcode}" if surname_code and postcode else "",
        f"gd|{given_code}|{dob}" if given_code and dob else "",
        f"gp|{given_code}|{postcode}" if given_code and postcode else "",
        f"nd|{either}|{dob}" if either and dob else "",
        f"np|{either}|{postcode}" if either and postcode else "",
        f"n|{values.nhs_number}" if values.nhs_number else "",
    ]
    return [_block_key(keys, part) for part in parts if part]


def _block_key(keys: _Keys, part: str) -> int:
    h = keys.block_hash.copy()
    h.update(part.encode())
    return int.from_bytes(h.digest(), "little", signed=True)


def transposition_probes(nhs_number: str) -> list[int]:
    """Blocking keys to look up (never stored) that find a person whose NHS number is this one
    with two adjacent digits swapped: the stored key is of the number itself, so each block
    holds about one person however large the population (a key of the sorted digits found
    the same people, in blocks that grew with it: ~10^4 digit multisets for 10^6 people)."""
    if not nhs_number:
        return []
    base = _keys().block_hash
    probes = []
    for i in range(len(nhs_number) - 1):
        if nhs_number[i] != nhs_number[i + 1]:
            swapped = f"{nhs_number[:i]}{nhs_number[i + 1]}{nhs_number[i]}{nhs_number[i + 2 :]}"
            h = base.copy()
            h.update(f"n|{swapped}".encode())
            probes.append(int.from_bytes(h.digest(), "little", signed=True))
    return probes
