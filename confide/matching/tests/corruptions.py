"""The errors real records carry, applied to synthetic people (tests and bench/matching.py)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

from confide.matching.nicknames import NICKNAMES
from confide.people.details import PersonDetails

NICKNAME_OF = {formal: nick for nick, formal in NICKNAMES.items() if nick != formal}
KINDS = ("dob", "surname", "given", "nickname", "postcode")


def typo(word: str, at: int, kind: int) -> str:
    """One keying error: a letter dropped, doubled, replaced, or two letters swapped."""
    if len(word) < 3:
        return word + "e"
    i = 1 + at % max(1, len(word) - 2)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[:i] + ("a" if word[i] != "a" else "e") + word[i + 1 :]
    return word[:i] + word[i + 1 : i + 2] + word[i] + word[i + 2 :]


def swap_day_digits(dob: date) -> date:
    """The day's two digits transposed (12 -> 21), or day and month swapped when that is not a
    date; unchanged when neither is."""
    day = int(f"{dob.day:02d}"[::-1])
    try:
        return dob.replace(day=day) if day else dob
    except ValueError:
        return dob.replace(day=dob.month, month=dob.day) if dob.day <= 12 else dob


def corrupt(
    person: PersonDetails, kinds: set[str], rng: random.Random, postcodes: list[str]
) -> PersonDetails:
    copy = person
    if "dob" in kinds and person.date_of_birth:
        copy = replace(copy, date_of_birth=swap_day_digits(person.date_of_birth))
    if "surname" in kinds and person.family_name:
        copy = replace(
            copy, family_name=typo(person.family_name, rng.randrange(20), rng.randrange(4))
        )
    if "given" in kinds:
        copy = replace(
            copy, given_name=typo(person.given_name, rng.randrange(20), rng.randrange(4))
        )
    if "nickname" in kinds and person.given_name.lower() in NICKNAME_OF:
        copy = replace(copy, given_name=NICKNAME_OF[person.given_name.lower()].title())
    if "postcode" in kinds:
        copy = replace(copy, postcode=rng.choice(postcodes))
    return copy
