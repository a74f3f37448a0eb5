"""After the retention sweep, a copy of the database taken before it no longer opens the people
it erased, even with the master key: their retention epoch's key is gone from the key store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from confide.cases.tests.factories import CaseFactory
from confide.dpo.retention import exposure_due_on, retention_sweep
from confide.people.models import Person
from confide.people.selectors import person_details
from confide.people.tests.factories import PersonFactory
from confide.privacy.crypto import SubjectKey, rewrap_in_epoch, unwrap_data_key
from confide.privacy.keys import (
    KeyRing,
    KeyUnavailable,
    master_keys,
    reset_master_keys_cache,
    write_key_ring,
)
from confide.privacy.models import DataKey
from confide.staff.tests.factories import StaffMemberFactory
from confide.tracing.models import Exposure, Proximity
from confide.tracing.services import record_exposure

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def own_key_store(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A key ring and epoch store of this test's own: the sweep destroys epochs in it."""
    monkeypatch.delenv("CONFIDE_MASTER_KEYS", raising=False)
    path = tmp_path / "keys" / "keyring.json"
    write_key_ring(path, KeyRing.generate(demo=True))
    settings.CONFIDE_KEYS_FILE = path
    settings.CONFIDE_EPOCH_KEYS_FILE = ""
    reset_master_keys_cache()
    yield path
    reset_master_keys_cache()


def _noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def _contact(*, last_contact: date, contact: Person | None = None) -> Exposure:
    """A contact of a new case; recorded as on the day of contact (which may be ahead)."""
    today = max(TODAY, last_contact)
    case = CaseFactory.create(specimen_date=last_contact, today=today)
    return record_exposure(
        case=case,
        contact=contact or PersonFactory.create(),
        last_contact=last_contact,
        proximity=Proximity.HOUSEHOLD,
        today=today,
    )


def _copy_of(person: Person) -> tuple[DataKey, bytes]:
    """What a dump holds of a person: their wrapped key row and one sealed field, read raw."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, wrapped_key, master_version, retention_epoch FROM privacy_datakey "
            "WHERE id = %s",
            [DataKey._meta.pk.get_db_prep_value(person.data_key_id, connection)],
        )
        key_id, wrapped, version, epoch = cursor.fetchone()
        cursor.execute("SELECT family_name_sealed FROM people_person WHERE id = %s", [person.pk])
        (sealed,) = cursor.fetchone()
    if isinstance(epoch, str):
        epoch = date.fromisoformat(epoch)
    row = DataKey(
        id=DataKey._meta.pk.to_python(key_id),
        wrapped_key=bytes(wrapped),
        master_version=version,
        retention_epoch=epoch,
    )
    return row, bytes(sealed)


def _opens(copy: tuple[DataKey, bytes]) -> str | None:
    key: SubjectKey = unwrap_data_key(copy[0])
    return key.open("person.family_name", copy[1])


def test_a_copy_taken_before_the_sweep_no_longer_opens_the_people_it_erased() -> None:
    erased_contact = _contact(last_contact=TODAY - timedelta(days=2))
    kept_contact = _contact(last_contact=TODAY + timedelta(days=60))
    due = exposure_due_on(erased_contact)
    retention_sweep(now=_noon(TODAY + timedelta(days=5)))  # an ordinary night before it is due
    kept_details = person_details(Person.objects.get(pk=kept_contact.contact_id))
    case_details = person_details(Person.objects.get(pk=erased_contact.case.person_id))

    copy = _copy_of(erased_contact.contact)
    family_name = person_details(Person.objects.get(pk=erased_contact.contact_id)).family_name
    assert _opens(copy) == family_name, "the copy is good before the sweep"

    retention_sweep(now=_noon(due))
    reset_master_keys_cache()  # the key store as it is now, read afresh; master key still there

    assert Person.objects.get(pk=erased_contact.contact_id).erased_at is not None
    assert master_keys().versions() == [1]
    with pytest.raises(KeyUnavailable):
        _opens(copy)
    assert person_details(Person.objects.get(pk=kept_contact.contact_id)) == kept_details
    assert person_details(Person.objects.get(pk=erased_contact.case.person_id)) == case_details


def test_a_copy_taken_on_the_night_before_is_unreadable_after_the_sweep_too() -> None:
    """Daily sweeps up to the day: the key has moved to its due epoch, and that one goes."""
    exposure = _contact(last_contact=TODAY - timedelta(days=2))
    due = exposure_due_on(exposure)
    day = TODAY + timedelta(days=1)
    while day < due:
        retention_sweep(now=_noon(day))
        day += timedelta(days=7)
    retention_sweep(now=_noon(due - timedelta(days=1)))
    copy = _copy_of(exposure.contact)
    assert copy[0].retention_epoch == due
    assert _opens(copy) is not None

    retention_sweep(now=_noon(due))
    reset_master_keys_cache()

    with pytest.raises(KeyUnavailable):
        _opens(copy)


def test_a_contact_named_again_moves_to_the_later_epoch_and_still_opens() -> None:
    first = _contact(last_contact=TODAY - timedelta(days=2))
    contact = first.contact
    expected = person_details(contact)
    second = _contact(last_contact=TODAY + timedelta(days=20), contact=contact)

    retention_sweep(now=_noon(exposure_due_on(first)))
    reset_master_keys_cache()

    assert Person.objects.get(pk=contact.pk).erased_at is None
    assert DataKey.objects.get(pk=contact.data_key_id).retention_epoch == exposure_due_on(second)
    assert person_details(Person.objects.get(pk=contact.pk)) == expected


def test_an_open_case_is_moved_to_the_earliest_day_it_could_fall_due() -> None:
    exposure = _contact(last_contact=TODAY - timedelta(days=2))
    case_person = exposure.case.person

    retention_sweep(now=_noon(TODAY + timedelta(days=3)))

    epoch = DataKey.objects.get(pk=case_person.data_key_id).retention_epoch
    earliest = (TODAY + timedelta(days=3)).replace(year=TODAY.year + 8) + timedelta(days=1)
    assert epoch is not None
    assert epoch >= earliest


def test_staff_keys_go_back_to_the_master_key_alone_and_survive_every_sweep() -> None:
    member = StaffMemberFactory.create()
    assert DataKey.objects.get(pk=member.data_key_id).retention_epoch is not None

    retention_sweep(now=_noon(TODAY + timedelta(days=400)))
    reset_master_keys_cache()

    key = DataKey.objects.get(pk=member.data_key_id)
    assert key.retention_epoch is None
    unwrap_data_key(key)


def test_a_dry_run_moves_no_key_and_destroys_no_epoch() -> None:
    exposure = _contact(last_contact=TODAY - timedelta(days=2))
    copy = _copy_of(exposure.contact)

    sweep = retention_sweep(now=_noon(exposure_due_on(exposure)), dry_run=True)
    reset_master_keys_cache()

    assert sweep.epochs_destroyed_before is None
    assert master_keys().epochs().floor == TODAY
    assert _opens(copy) is not None


def test_migrate_epochs_moves_keys_made_before_epochs_and_they_still_open() -> None:
    person = PersonFactory.create()
    expected = person_details(person)
    legacy = DataKey.objects.get(pk=person.data_key_id)
    legacy.master_version, legacy.wrapped_key = rewrap_in_epoch(legacy, None)
    legacy.retention_epoch = None
    legacy.save()
    out = StringIO()

    call_command("keys", "migrate-epochs", stdout=out)
    reset_master_keys_cache()

    assert DataKey.objects.get(pk=person.data_key_id).retention_epoch is not None
    assert person_details(Person.objects.get(pk=person.pk)) == expected
    assert "Moved 1 data keys into retention epochs (1 had none before" in " ".join(
        out.getvalue().split()
    )


def test_keys_status_shows_the_destroyed_epochs_and_keys_per_month() -> None:
    PersonFactory.create_batch(2)
    retention_sweep(now=_noon(TODAY))
    out = StringIO()

    call_command("keys", "status", stdout=out)

    text = " ".join(out.getvalue().split())
    assert f"every epoch before {TODAY + timedelta(days=1)} is destroyed" in text
    assert "no epoch (master key alone): 0 data keys" in text
    assert "2 data keys" in text
