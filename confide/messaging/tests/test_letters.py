"""The print run: each queued letter becomes one row of one print file, then counts as sent."""

from __future__ import annotations

import csv
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from confide.messaging.letters import PRINT_COLUMNS, export_print_run
from confide.messaging.models import Channel, Message, MessageState
from confide.messaging.tests.conftest import expose, make_person
from confide.people.services import erase_person

pytestmark = pytest.mark.django_db


def letter(address: str, postcode: str, **details: str) -> Message:
    exposure = expose(
        make_person(email="", phone="", address=address, postcode=postcode, **details)
    )
    message = exposure.notification_message
    assert message is not None
    assert message.channel == Channel.LETTER
    return message


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_each_letter_is_one_row_addressed_to_its_own_recipient_only(tmp_path: Path) -> None:
    first = letter("1 Heol y Bont, Caerdydd", "CF10 1AA", given_name="Ffion")
    second = letter("2 Mill Lane", "LS1 4AP", given_name="Omar")

    run = export_print_run(tmp_path)

    assert run.letters == 2
    assert run.path is not None
    printed = {row["reference"]: row for row in rows(run.path)}
    assert list(rows(run.path)[0]) == list(PRINT_COLUMNS)
    assert printed[str(first.reference)]["address"] == "1 Heol y Bont, Caerdydd"
    assert printed[str(first.reference)]["postcode"] == "CF10 1AA"
    assert "Ffion" in printed[str(first.reference)]["body"]
    assert "Omar" not in printed[str(first.reference)]["body"]
    assert "LS1 4AP" not in str(printed[str(first.reference)])
    assert stat.S_IMODE(run.path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob("*.partial"))
    for message in (first, second):
        message.refresh_from_db()
        assert message.state == MessageState.SENT
        assert message.provider_reference == run.path.name


def test_a_second_run_prints_nothing_again(tmp_path: Path) -> None:
    letter("1 Heol y Bont", "CF10 1AA")
    export_print_run(tmp_path)

    again = export_print_run(tmp_path)

    assert (again.path, again.letters) == (None, 0)
    assert len(list(tmp_path.iterdir())) == 1


def test_a_run_that_died_before_writing_prints_its_letters_after_the_lease(tmp_path: Path) -> None:
    message = letter("1 Heol y Bont", "CF10 1AA")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the drop folder should be")
    with pytest.raises(FileExistsError):
        export_print_run(blocked)
    message.refresh_from_db()
    assert message.state == MessageState.SENDING  # claimed, then the write failed

    assert export_print_run(tmp_path).letters == 0  # still leased
    later = timezone.now() + timedelta(hours=1)
    run = export_print_run(tmp_path, now=later)

    assert run.letters == 1
    assert run.path is not None
    assert [row["reference"] for row in rows(run.path)] == [str(message.reference)]


def test_a_letter_to_someone_erased_is_cancelled_not_printed(tmp_path: Path) -> None:
    message = letter("1 Heol y Bont", "CF10 1AA")
    assert message.person is not None
    erase_person(person=message.person)

    run = export_print_run(tmp_path)

    message.refresh_from_db()
    assert (run.path, run.cancelled) == (None, 1)
    assert message.state == MessageState.CANCELLED


def test_the_command_says_where_the_letters_went(tmp_path: Path, capsys) -> None:
    letter("1 Heol y Bont", "CF10 1AA")

    call_command("letters", "--to", str(tmp_path))

    assert "Wrote 1 letters to" in capsys.readouterr().out
