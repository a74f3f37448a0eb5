"""The retention sweep: what is due is crypto-shredded, what is not stays; counts, dry runs and
running twice."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from confide.cases.models import Case, CaseStatus
from confide.cases.services import transition_case
from confide.cases.tests.factories import CaseFactory
from confide.dpo.models import RetentionRun
from confide.dpo.retention import retention_sweep
from confide.messaging.models import Message
from confide.people.models import Person
from confide.people.selectors import person_details
from confide.people.services import PersonErased
from confide.people.tests.factories import PersonFactory
from confide.privacy.crypto import unwrap_data_key
from confide.privacy.keys import DataKeyDestroyed
from confide.privacy.models import AccessAction, AccessEvent, DataKey
from confide.public.links import issue_contact_link
from confide.public.models import SelfServiceLink
from confide.schedule import Ticker
from confide.tracing.models import Exposure, FollowUp, Proximity, Setting, SettingKind
from confide.tracing.services import create_setting, record_exposure, record_visit

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def _noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def _contact_of_a_case(*, setting: Setting | None = None) -> Exposure:
    case = CaseFactory.create(specimen_date=TODAY - timedelta(days=2), today=TODAY)
    return record_exposure(
        case=case,
        contact=PersonFactory.create(),
        last_contact=TODAY - timedelta(days=2),
        proximity=Proximity.HOUSEHOLD,
        setting=setting,
        today=TODAY,
    )


def _erased(person: Person) -> bool:
    return Person.objects.get(pk=person.pk).erased_at is not None


def test_a_contact_22_days_after_isolation_ends_is_erased_and_20_days_is_not() -> None:
    exposure = _contact_of_a_case()
    ends = exposure.isolation_ends_on

    retention_sweep(now=_noon(ends + timedelta(days=20)))
    assert not _erased(exposure.contact)
    retention_sweep(now=_noon(ends + timedelta(days=21)))
    assert not _erased(exposure.contact), "kept for the whole 21st day"
    retention_sweep(now=_noon(ends + timedelta(days=22)))

    contact = Person.objects.select_related("data_key").get(pk=exposure.contact_id)
    assert contact.erased_at is not None
    with pytest.raises(PersonErased):
        person_details(contact)
    with pytest.raises(DataKeyDestroyed):
        unwrap_data_key(contact.data_key)
    assert Exposure.objects.filter(pk=exposure.pk).exists(), "the tombstone keeps statistics"
    assert not _erased(exposure.case.person), "the case is kept for years"


def test_the_sweep_deletes_the_self_service_links_of_what_it_erases() -> None:
    exposure = _contact_of_a_case()  # its notification carries a link to the contact's page
    issue_contact_link(exposure=exposure)
    assert SelfServiceLink.objects.filter(exposure=exposure).count() == 2

    retention_sweep(now=_noon(exposure.isolation_ends_on + timedelta(days=22)))

    assert not SelfServiceLink.objects.filter(exposure=exposure).exists()
    assert not SelfServiceLink.objects.filter(person_id=exposure.contact_id).exists()


def test_the_sweep_counts_each_record_type_and_records_counts_only() -> None:
    exposure = _contact_of_a_case()
    follow_ups = FollowUp.objects.filter(exposure=exposure).count()
    messages = Message.objects.filter(person=exposure.contact).count()
    assert follow_ups > 0
    assert messages > 0

    sweep = retention_sweep(now=_noon(exposure.isolation_ends_on + timedelta(days=22)))

    assert sweep.counts == {
        "people": 1,
        "exposures": 1,
        "follow_ups": follow_ups,
        "cases": 0,
        "test_results": 0,
        "messages": messages,
        "settings": 0,
    }
    assert RetentionRun.objects.get().counts == sweep.counts
    assert not Message.objects.filter(person=exposure.contact, purged_at__isnull=True).exists()
    assert AccessEvent.objects.filter(
        action=AccessAction.ERASE, subject_reference=exposure.contact.reference
    ).exists()


def test_a_dry_run_counts_the_same_and_changes_nothing() -> None:
    exposure = _contact_of_a_case()
    due = _noon(exposure.isolation_ends_on + timedelta(days=30))
    keys = list(DataKey.objects.order_by("pk").values_list("pk", "wrapped_key", "destroyed_at"))
    events = AccessEvent.objects.count()

    dry = retention_sweep(now=due, dry_run=True)

    assert list(
        DataKey.objects.order_by("pk").values_list("pk", "wrapped_key", "destroyed_at")
    ) == (keys)
    assert AccessEvent.objects.count() == events
    assert not RetentionRun.objects.exists()
    assert not _erased(exposure.contact)
    assert dry.counts == retention_sweep(now=due).counts
    assert dry.counts["people"] == 1


def test_running_the_sweep_twice_erases_nothing_more() -> None:
    exposure = _contact_of_a_case()
    due = _noon(exposure.isolation_ends_on + timedelta(days=22))

    first = retention_sweep(now=due)
    second = retention_sweep(now=due + timedelta(days=1))

    assert first.counts["people"] == 1
    assert set(second.counts.values()) == {0}


def test_a_contact_still_needed_keeps_their_record_and_loses_the_expired_link() -> None:
    exposure = _contact_of_a_case()
    contact = exposure.contact
    own_case = CaseFactory.create(person=contact, specimen_date=TODAY, today=TODAY)

    sweep = retention_sweep(now=_noon(exposure.isolation_ends_on + timedelta(days=22)))

    assert sweep.counts["people"] == 0
    assert sweep.counts["exposures"] == 1
    assert not _erased(contact), "their open case still needs them"
    exposure.refresh_from_db()
    assert exposure.contact_id != contact.pk
    assert _erased(exposure.contact), "the expired exposure now leads to an anonymous tombstone"
    assert not FollowUp.objects.filter(exposure=exposure, person=contact).exists()
    assert Case.objects.get(pk=own_case.pk).person_id == contact.pk


def test_a_case_is_kept_for_the_configured_years_after_it_ends(settings: object) -> None:
    case = CaseFactory.create(specimen_date=TODAY - timedelta(days=2), today=TODAY)
    transition_case(case=case, to=CaseStatus.CLOSED, by=None, reason="test")
    home = create_setting(kind=SettingKind.HOUSEHOLD, address="1 Test Street")
    record_visit(case=case, setting=home, visited_on=TODAY - timedelta(days=2))
    case.refresh_from_db()
    closed = timezone.localdate(case.closed_at)
    ends = max(closed, (case.symptom_onset or case.specimen_date) + timedelta(days=10))

    retention_sweep(now=_noon(ends.replace(year=ends.year + 8)))
    assert not _erased(case.person)
    sweep = retention_sweep(now=_noon(ends.replace(year=ends.year + 8) + timedelta(days=1)))

    assert _erased(case.person)
    assert sweep.counts["cases"] == 1
    assert sweep.counts["settings"] == 1, "the home visited is crypto-shredded with the case"
    home.refresh_from_db()
    assert home.address_sealed is None
    assert DataKey.objects.get(pk=home.data_key_id).destroyed_at is not None


def test_the_case_retention_period_comes_from_settings(settings: object) -> None:
    settings.CONFIDE_RETENTION_CASE_YEARS = 2  # type: ignore[attr-defined]
    case = CaseFactory.create(specimen_date=TODAY - timedelta(days=2), today=TODAY)
    transition_case(case=case, to=CaseStatus.CLOSED, by=None, reason="test")

    retention_sweep(now=_noon(TODAY.replace(year=TODAY.year + 2) + timedelta(days=30)))

    assert _erased(case.person)


def test_an_open_case_is_never_due_however_old() -> None:
    case = CaseFactory.create(specimen_date=TODAY - timedelta(days=2), today=TODAY)

    retention_sweep(now=_noon(TODAY.replace(year=TODAY.year + 20)))

    assert not _erased(case.person)


def test_the_command_shows_counts_and_a_dry_run_says_nothing_changed() -> None:
    _contact_of_a_case()
    out = StringIO()

    call_command("retention", "sweep", "--dry-run", stdout=out)

    assert "Due (dry run)" in out.getvalue()
    assert "people" in out.getvalue()
    assert "Nothing was changed" in out.getvalue()
    assert "21 days" in out.getvalue()


def test_the_worker_sweeps_daily() -> None:
    jobs = {every.job.__name__: every.interval for every in Ticker().jobs}

    assert jobs["_sweep_retention"] == timedelta(hours=24)


def test_the_workers_task_runs_the_sweep_and_returns_counts() -> None:
    from confide.dpo.tasks import sweep_retention

    counts = sweep_retention.call()

    assert counts == RetentionRun.objects.get().counts


def test_the_records_of_processing_show_the_periods_in_settings(
    dpo: object, settings: object
) -> None:
    from confide.dpo.tests.conftest import sign_in

    settings.CONFIDE_RETENTION_CONTACT_DAYS = 28  # type: ignore[attr-defined]
    settings.CONFIDE_RETENTION_CASE_YEARS = 6  # type: ignore[attr-defined]

    page = sign_in(dpo).get("/dpo/records-of-processing/").content.decode()  # type: ignore[arg-type]

    assert "28 days after their isolation ends" in page
    assert "6 years after the case ends" in page
    assert "<title>Records of processing – Confide</title>" in page
    assert page.count("Retention policy") == 1
