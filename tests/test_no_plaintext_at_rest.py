"""Property 3: a raw dump of the database, after loading the demo, shows no personal data."""

from __future__ import annotations

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
        return subprocess.run(command, check=True, capture_output=True, timeout=120).stdout
    raise AssertionError(f"no raw reader for {connection.vendor}")


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
    """Values found in the raw bytes, in clear or hex-escaped (pg_dump writes bytea as hex)."""
    found = []
    for value in values:
        encoded = value.encode("utf-8")
        if encoded in raw or encoded.hex().encode() in raw:
            found.append(value)
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


def test_the_leak_search_finds_plaintext_in_clear_and_hex_escaped_forms() -> None:
    assert _leaks(b"...Ann Smith...", {"Ann Smith"}) == ["Ann Smith"]
    assert _leaks(b"\\x" + b"Ann Smith".hex().encode(), {"Ann Smith"}) == ["Ann Smith"]
    assert _leaks(b"\x01\x9f\x22", {"Ann Smith"}) == []
