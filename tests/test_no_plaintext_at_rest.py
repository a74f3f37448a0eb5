"""Property 3: a raw dump of the database, after loading the demo, shows no personal data."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import phonenumbers
import pytest
from django.db import connection

from confide.demo.generator import generate_demo
from confide.people.models import Person
from confide.people.selectors import person_details
from confide.staff.models import StaffMember, Team
from confide.staff.services import staff_contact_details
from conftest import unavailable

CANARY = "CANARY-plaintext-team-name"
# pg_dump writes bytea as backslash-x hex; COPY doubles the backslash.
BYTEA_IN_COPY = re.compile(rb"\\\\x((?:[0-9a-f]{2})+)")


def _raw_database_bytes() -> bytes:
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        path = Path(settings_dict["NAME"])
        return b"".join(
            p.read_bytes()
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal"))
            if p.exists()
        )
    if connection.vendor == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            unavailable("pg_dump is not installed")
        command = [pg_dump, "--no-owner", "--dbname", settings_dict["NAME"]]
        for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
            if settings_dict.get(key):
                command += [flag, str(settings_dict[key])]
        return _with_bytea_decoded(
            subprocess.run(command, check=True, capture_output=True, timeout=120).stdout
        )
    raise AssertionError(f"no raw reader for {connection.vendor}")


def _with_bytea_decoded(dump: bytes) -> bytes:
    """The dump with bytea values as their bytes, not as hex text.

    So a value stored as bytes is found, and digits that merely occur in the hex text of
    ciphertext or of sparse keyed encodings (Bloom filters are mostly zeros) are not a leak.
    """
    return BYTEA_IN_COPY.sub(lambda m: bytes.fromhex(m[1].decode()), dump)


def _forms_of_personal_values() -> set[str]:
    """Every demo person's and staff member's identifying values, in the forms people write them."""
    values: set[str] = set()
    for person in Person.objects.select_related("data_key"):
        d = person_details(person)
        values |= {f"{d.given_name} {d.family_name}", d.email, d.phone, d.nhs_number, d.postcode}
        values |= {
            d.address,
            d.postcode.replace(" ", ""),
            f"{d.nhs_number[:3]} {d.nhs_number[3:6]} {d.nhs_number[6:]}",
        }
        if d.date_of_birth:
            values.add(f"{d.family_name}|{d.date_of_birth.isoformat()}")
        if d.phone:
            national = phonenumbers.format_number(
                phonenumbers.parse(d.phone), phonenumbers.PhoneNumberFormat.NATIONAL
            )
            values |= {national, national.replace(" ", "")}
        # Single names of five letters or more; shorter ones occur by chance in random bytes.
        values |= {name for name in (d.given_name, d.family_name) if len(name) >= 5}
    for member in StaffMember.objects.select_related("data_key"):
        contact = staff_contact_details(member)
        values |= {v for v in contact.values() if v}
    values.discard("")
    return values


def _leaks(raw: bytes, values: set[str]) -> list[str]:
    """Values found in the raw bytes, with the bytes around them to say where they are."""
    found = []
    for value in values:
        at = raw.find(value.encode("utf-8"))
        if at >= 0:
            found.append(f"{value!r} in ...{raw[max(0, at - 200) : at + len(value) + 60]!r}...")
    return sorted(found)


@pytest.mark.django_db(transaction=True)
def test_a_raw_dump_after_loading_the_demo_contains_no_personal_data() -> None:
    generate_demo(cases=60, seed=7)
    Team.objects.create(name=CANARY)  # a non-personal value in clear: proves the reader sees data
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    values = _forms_of_personal_values()
    assert len(values) > 500, "the demo should have produced hundreds of personal values"

    raw = _raw_database_bytes()

    assert CANARY.encode() in raw, "the raw reader did not see the database's contents"
    assert _leaks(raw, values) == []


def test_the_leak_search_finds_plaintext_in_clear_and_in_bytea() -> None:
    assert _leaks(b"...Ann Smith...", {"Ann Smith"}) == ["'Ann Smith' in ...b'...Ann Smith...'..."]
    stored_as_bytes = _with_bytea_decoded(b"1\t\\\\x" + b"Ann Smith".hex().encode() + b"\n")
    assert len(_leaks(stored_as_bytes, {"Ann Smith"})) == 1
    assert _leaks(b"\x01\x9f\x22", {"Ann Smith"}) == []


def test_digits_in_the_hex_text_of_a_sparse_encoding_are_not_a_leak() -> None:
    sparse = bytes.fromhex("0000900000040800090000")  # its hex text contains 9000000408
    dump = b"1\t\\\\x" + sparse.hex().encode() + b"\n"
    assert b"9000000408" in dump
    assert _leaks(_with_bytea_decoded(dump), {"9000000408"}) == []
