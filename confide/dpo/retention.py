"""Retention (UK GDPR Art. 5(1)(e) storage limitation): the policy per record type, and the
sweep that erases what is due.

A contact's data is kept for `CONFIDE_RETENTION_CONTACT_DAYS` after their isolation ends; a
case's for `CONFIDE_RETENTION_CASE_YEARS` after it ends (docs/dpo.md says why). Erasing means
crypto-shredding: a person no live record needs any more is erased through
`confide.people.services.erase_person` (their data key destroyed). A person still needed — a
contact who later became a case, say — keeps their own record, and the expired exposure or case
is moved onto an anonymous tombstone person instead, so it no longer leads back to them. Either
way the exposure, case and follow-up rows stay, holding dates and states only, so statistics
keep their shape. Message contents are purged with them. The access log is kept: it holds
references, never plaintext.

Then the sweep looks after retention epochs (docs/architecture.md): each live person's and
place's data key is moved, before its epoch passes, to the epoch of the earliest day its
records could fall due; then the key store destroys every epoch before tomorrow. So a copy of
the database taken before the sweep no longer opens anyone the sweep erased.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from confide.cases.models import Case, CaseStatus, TestResult
from confide.dpo.models import RetentionRun
from confide.messaging.models import DISPATCHABLE_STATES, Message, MessageState
from confide.messaging.template_types import TemplateKind
from confide.people.models import Person
from confide.people.services import erase_person
from confide.privacy.audit import Access, record_accesses
from confide.privacy.crypto import NEW_KEY_EPOCH_DAYS
from confide.privacy.models import AccessAction, DataKey
from confide.privacy.services import (
    EpochInUse,
    destroy_epochs_before,
    live_keys_in_epochs_before,
    move_data_keys_to_epochs,
)
from confide.public.links import forget_links
from confide.support.services import move_support_to_stand_in
from confide.tracing.models import Exposure, FollowUp, Setting, SettingVisit

logger = logging.getLogger(__name__)

# A case still being worked is never "ended", however old.
OPEN_CASE_STATUSES = frozenset(
    {
        CaseStatus.NEW,
        CaseStatus.ASSIGNED,
        CaseStatus.IN_PROGRESS,
        CaseStatus.ESCALATED,
        CaseStatus.UNREACHABLE,
    }
)

RECORD_TYPES = (
    "people",
    "exposures",
    "follow_ups",
    "cases",
    "test_results",
    "messages",
    "settings",
)


@dataclass(frozen=True)
class RetentionPolicy:
    """What is kept, for how long after what, per record type (read from settings)."""

    record: str
    kept_for: str
    after: str
    setting: str


def contact_days() -> int:
    return settings.CONFIDE_RETENTION_CONTACT_DAYS


def case_years() -> int:
    return settings.CONFIDE_RETENTION_CASE_YEARS


def retention_policies() -> list[RetentionPolicy]:
    """The policy table, for docs, the records-of-processing page and the command's summary."""
    days, years = contact_days(), case_years()
    return [
        RetentionPolicy(
            "Contacts: exposures, daily follow-ups and messages to contacts",
            f"{days} days",
            "the contact's isolation ends",
            "CONFIDE_RETENTION_CONTACT_DAYS",
        ),
        RetentionPolicy(
            "Cases: the case, its test result, places visited and follow-ups",
            f"{years} years",
            "the case ends (closed, or its isolation ends if later)",
            "CONFIDE_RETENTION_CASE_YEARS",
        ),
        RetentionPolicy(
            "People (names, contact details, identifiers)",
            "as long as any of their contact or case records is kept",
            "then crypto-shredded",
            "both of the above",
        ),
        RetentionPolicy(
            "Message recipients and personalisation",
            f"{settings.CONFIDE_MESSAGE_RETENTION_DAYS} days",
            "the message is sent (the delivery record stays)",
            "CONFIDE_MESSAGE_RETENTION_DAYS",
        ),
        RetentionPolicy(
            "Access log",
            "kept",
            "it holds references only, no plaintext; it is the evidence of who saw what",
            "",
        ),
    ]


def case_isolation_ends_on(case: Case) -> date:
    anchor = case.symptom_onset or case.specimen_date
    return anchor + timedelta(days=case.policy.case_isolation_days)


def _years_after(day: date, years: int) -> date:
    """The same day `years` later (28 February for 29 February in a common year). Written
    here rather than using python-dateutil, which the project's type checking has no stubs for."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def case_ends_on(case: Case) -> date | None:
    """When a case ended (None while it is still open): closed, or its isolation ends if later."""
    if case.status in OPEN_CASE_STATUSES:
        return None
    ended = case_isolation_ends_on(case)
    if case.closed_at is not None:
        ended = max(ended, timezone.localdate(case.closed_at))
    return ended


def exposure_due_on(exposure: Exposure) -> date:
    """The first day the sweep erases an exposure."""
    return exposure.isolation_ends_on + timedelta(days=contact_days() + 1)


def case_due_on_at_earliest(case: Case, *, today: date) -> date:
    """The first day the sweep could erase a case: if still open, as if it ended today."""
    ended = case_ends_on(case)
    if ended is None:
        ended = max(case_isolation_ends_on(case), today)
    return _years_after(ended, case_years()) + timedelta(days=1)


def exposure_expired(exposure: Exposure, *, today: date) -> bool:
    return exposure.isolation_ends_on + timedelta(days=contact_days()) < today


def case_expired(case: Case, *, today: date) -> bool:
    ended = case_ends_on(case)
    return ended is not None and _years_after(ended, case_years()) < today


@dataclass
class RetentionSweep:
    """Counts per record type (never contents). `dry_run`: what a real sweep would erase."""

    dry_run: bool
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_TYPES, 0))
    # Data keys moved to a later retention epoch, and the epochs now destroyed (those before).
    keys_moved: int = 0
    epochs_destroyed_before: date | None = None
    # What this sweep anonymised (or, dry, would): settings they touched may be due too.
    gone_cases: set[int] = field(default_factory=set)
    gone_exposures: set[int] = field(default_factory=set)
    touched_settings: set[int] = field(default_factory=set)

    def add(self, record: str, number: int) -> None:
        self.counts[record] += number


@dataclass(frozen=True)
class _PersonPlan:
    person: Person
    erase: bool  # False: still needed; move the expired records onto tombstones
    exposures: list[Exposure]
    cases: list[Case]


def _plan_for(person: Person, *, today: date) -> _PersonPlan | None:
    exposures = list(Exposure.objects.filter(contact=person).select_related("policy"))
    cases = list(Case.objects.filter(person=person).select_related("policy"))
    expired_exposures = [e for e in exposures if exposure_expired(e, today=today)]
    expired_cases = [c for c in cases if case_expired(c, today=today)]
    if not expired_exposures and not expired_cases:
        return None
    needed = len(expired_exposures) < len(exposures) or len(expired_cases) < len(cases)
    return _PersonPlan(person, not needed, expired_exposures, expired_cases)


def _candidates(*, today: date) -> list[int]:
    """People with something that may be due: a live contact past retention, or a live case
    person with a case old enough to have ended that long ago (checked exactly per person)."""
    exposure_cutoff = today - timedelta(days=contact_days())
    # A case ends no earlier than its specimen date, so older specimens are the only ones due.
    case_cutoff = _years_after(today, -case_years())
    contacts = Exposure.objects.filter(
        isolation_ends_on__lt=exposure_cutoff, contact__erased_at__isnull=True
    ).values_list("contact_id", flat=True)
    cases = (
        Case.objects.filter(specimen_date__lt=case_cutoff, person__erased_at__isnull=True)
        .exclude(status__in=OPEN_CASE_STATUSES)
        .values_list("person_id", flat=True)
    )
    return sorted(set(contacts) | set(cases))


def _tombstone() -> Person:
    """An anonymous stand-in: a person with no data and a destroyed key, so an expired record
    of someone still needed no longer leads back to them."""
    now = timezone.now()
    key = DataKey.objects.create(wrapped_key=None, master_version=None, destroyed_at=now)
    return Person.objects.create(data_key=key, erased_at=now)


CONTACT_MESSAGE_KINDS = (
    TemplateKind.CONTACT_NOTIFICATION,
    TemplateKind.FOLLOW_UP_REMINDER,
    TemplateKind.BOOK_A_TEST,
)


def _contact_messages(exposure: Exposure) -> list[Message]:
    """Messages to a contact about one exposure: sent to them as a contact while it ran.
    (Messages name no exposure, so they are matched by kind and time.)"""
    return list(
        Message.objects.filter(
            person_id=exposure.contact_id,
            template__kind__in=CONTACT_MESSAGE_KINDS,
            created_at__date__lte=exposure.isolation_ends_on,
            created_at__date__gte=exposure.created_at.date() - timedelta(days=1),
        )
    )


def _purge_messages(messages: list[Message], *, now: datetime) -> int:
    ids = [m.pk for m in messages]
    Message.objects.filter(pk__in=ids, state__in=DISPATCHABLE_STATES).update(
        state=MessageState.CANCELLED
    )
    return Message.objects.filter(pk__in=ids, purged_at__isnull=True).update(
        recipient_sealed=None, personalisation_sealed=None, purged_at=now
    )


def _apply(plan: _PersonPlan, sweep: RetentionSweep, *, now: datetime) -> None:
    person = plan.person
    exposure_ids = [e.pk for e in plan.exposures]
    case_ids = [c.pk for c in plan.cases]
    follow_ups = FollowUp.objects.filter(exposure_id__in=exposure_ids) | FollowUp.objects.filter(
        case_id__in=case_ids
    )
    results = TestResult.objects.filter(case__in=case_ids)
    sweep.gone_cases.update(case_ids)
    sweep.gone_exposures.update(exposure_ids)
    sweep.touched_settings.update(e.setting_id for e in plan.exposures if e.setting_id)
    sweep.touched_settings.update(
        SettingVisit.objects.filter(case_id__in=case_ids).values_list("setting_id", flat=True)
    )
    sweep.add("exposures", len(exposure_ids))
    sweep.add("cases", len(case_ids))
    sweep.add("follow_ups", follow_ups.count())
    sweep.add("test_results", results.count())
    if plan.erase:
        sweep.add("people", 1)
        messages = list(Message.objects.filter(person=person, purged_at__isnull=True))
    else:
        messages = [m for e in plan.exposures for m in _contact_messages(e) if not m.purged_at]
    if sweep.dry_run:
        sweep.add("messages", len(messages))
        return
    with transaction.atomic():
        sweep.add("messages", _purge_messages(messages, now=now))
        forget_links(
            person_id=person.pk if plan.erase else None,
            case_ids=case_ids,
            exposure_ids=exposure_ids,
        )
        if plan.erase:
            erase_person(person=person)
            purpose = "Retention sweep: erased, no longer needed by any record"
        else:
            for exposure in plan.exposures:
                stand_in = _tombstone()
                Exposure.objects.filter(pk=exposure.pk).update(contact=stand_in)
                FollowUp.objects.filter(exposure=exposure).update(person=stand_in)
                Message.objects.filter(pk__in=[m.pk for m in _contact_messages(exposure)]).update(
                    person=stand_in, data_key=stand_in.data_key
                )
                move_support_to_stand_in(stand_in=stand_in, exposure_id=exposure.pk)
            for case in plan.cases:
                stand_in = _tombstone()
                Case.objects.filter(pk=case.pk).update(person=stand_in)
                FollowUp.objects.filter(case=case).update(person=stand_in)
                TestResult.objects.filter(case=case).update(person=stand_in)
                move_support_to_stand_in(stand_in=stand_in, case_id=case.pk)
            purpose = "Retention sweep: expired contact or case records anonymised"
        record_accesses(
            [
                Access(
                    action=AccessAction.ERASE,
                    purpose=purpose,
                    subject_reference=person.reference,
                    object_type="person",
                    object_reference=str(person.reference),
                )
            ]
        )


def _setting_needed(setting_id: int, sweep: RetentionSweep) -> bool:
    """A place is needed while a kept case visited it or a kept contact met someone there."""
    visits = SettingVisit.objects.filter(
        setting_id=setting_id, case__person__erased_at__isnull=True
    ).exclude(case_id__in=sweep.gone_cases)
    exposures = Exposure.objects.filter(
        setting_id=setting_id, contact__erased_at__isnull=True
    ).exclude(pk__in=sweep.gone_exposures)
    return visits.exists() or exposures.exists()


def _shred_settings(sweep: RetentionSweep) -> None:
    """Crypto-shred the address of each place no kept record needs (a household is a home).
    The row stays, with its kind (and a non-household's public name), for cluster statistics."""
    live = Setting.objects.filter(
        pk__in=sweep.touched_settings, data_key__destroyed_at__isnull=True
    ).order_by("pk")
    for setting in live:
        if _setting_needed(setting.pk, sweep):
            continue
        sweep.add("settings", 1)
        if sweep.dry_run:
            continue
        with transaction.atomic():
            DataKey.objects.filter(pk=setting.data_key_id).update(
                wrapped_key=None, master_version=None, destroyed_at=timezone.now()
            )
            Setting.objects.filter(pk=setting.pk).update(
                address_sealed=None, postcode_sealed=None, postcode_index=None
            )


def _earliest_due_of_people(person_ids: Iterable[int], *, today: date) -> dict[int, date]:
    """Per person with a record: the first day all their records could be due (the sweep
    erases a person once every exposure and case of theirs is)."""
    due: dict[int, date] = {}

    def later(owner: int, day: date) -> None:
        due[owner] = max(day, due.get(owner, day))

    ids = list(person_ids)
    for exposure in Exposure.objects.filter(contact_id__in=ids).only(
        "contact_id", "isolation_ends_on"
    ):
        later(exposure.contact_id, exposure_due_on(exposure))
    for case in Case.objects.filter(person_id__in=ids).select_related("policy"):
        later(case.person_id, case_due_on_at_earliest(case, today=today))
    return due


def _earliest_due_of_settings(setting_ids: Iterable[int], *, today: date) -> dict[int, date]:
    """Per place a live record needs: the first day none could need it (see _setting_needed)."""
    due: dict[int, date] = {}

    def later(owner: int, day: date) -> None:
        due[owner] = max(day, due.get(owner, day))

    ids = list(setting_ids)
    visits = SettingVisit.objects.filter(
        setting_id__in=ids, case__person__erased_at__isnull=True
    ).select_related("case__policy")
    for visit in visits:
        later(visit.setting_id, case_due_on_at_earliest(visit.case, today=today))
    exposures = Exposure.objects.filter(setting_id__in=ids, contact__erased_at__isnull=True).only(
        "setting_id", "isolation_ends_on"
    )
    for exposure in exposures:
        assert exposure.setting_id is not None
        later(exposure.setting_id, exposure_due_on(exposure))
    return due


KEY_BATCH = 1000


def key_epochs_to_move(*, today: date) -> dict[uuid.UUID, date | None]:
    """The live data keys to move before the epochs up to `today` are destroyed, and where.

    Those wrapped under an epoch up to today, and person and place keys with no epoch yet
    (made before epochs). A person's or place's key goes to the earliest day its records
    could fall due — never later, so that every copy of it ever written is under an epoch
    destroyed no later than the sweep that erases it; without records, two days on (looked at
    again then). Keys of anything else (staff, disclosure requests) are not erased by
    retention: they go back to the master key alone.
    """
    floor = today + timedelta(days=1)
    no_records = max(today + timedelta(days=NEW_KEY_EPOCH_DAYS), floor)
    live = DataKey.objects.filter(destroyed_at__isnull=True, retention_epoch__isnull=True)
    keys = set(live_keys_in_epochs_before(floor).values_list("pk", flat=True))
    keys.update(Person.objects.filter(data_key__in=live).values_list("data_key_id", flat=True))
    keys.update(Setting.objects.filter(data_key__in=live).values_list("data_key_id", flat=True))
    ordered = sorted(keys)
    epochs: dict[uuid.UUID, date | None] = {}
    for start in range(0, len(ordered), KEY_BATCH):
        batch = ordered[start : start + KEY_BATCH]
        epochs.update(dict.fromkeys(batch))
        people = dict(Person.objects.filter(data_key_id__in=batch).values_list("pk", "data_key_id"))
        due = _earliest_due_of_people(people, today=today)
        for person_id, key_id in people.items():
            epochs[key_id] = max(due.get(person_id, no_records), floor)
        places = dict(
            Setting.objects.filter(data_key_id__in=batch).values_list("pk", "data_key_id")
        )
        due = _earliest_due_of_settings(places, today=today)
        for setting_id, key_id in places.items():
            epochs[key_id] = max(due.get(setting_id, no_records), floor)
    return epochs


def destroy_passed_epochs(*, today: date) -> tuple[int, date]:
    """Move the keys that need it (key_epochs_to_move), then destroy every epoch before
    tomorrow. Returns how many keys moved and the first epoch still kept."""
    floor = today + timedelta(days=1)
    moved = 0
    for attempt in range(3):
        moved += move_data_keys_to_epochs(key_epochs_to_move(today=today))
        try:
            destroy_epochs_before(floor)
        except EpochInUse:
            # A key was made under a passing epoch while we moved the others: once more.
            if attempt == 2:
                raise
            continue
        return moved, floor
    raise AssertionError("unreachable")


def retention_sweep(
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> RetentionSweep:
    """Erase what retention says is due at `now`; counts per record type, logged and recorded.

    Idempotent: what a sweep erased is not found again. `dry_run` counts without changing
    anything. Each person is its own transaction, so an interrupted sweep keeps what it did.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    sweep = RetentionSweep(dry_run=dry_run)
    candidates = _candidates(today=today)
    for done, person_id in enumerate(candidates, start=1):
        # Planned and applied under the person's lock, so two workers sweeping at once
        # cannot both act on the same records (the second finds them done).
        with transaction.atomic():
            person = Person.objects.select_for_update().get(pk=person_id)
            plan = _plan_for(person, today=today) if person.erased_at is None else None
            if plan is not None:
                _apply(plan, sweep, now=now)
        if on_progress is not None:
            on_progress(done, len(candidates))
    _shred_settings(sweep)
    if not dry_run:
        RetentionRun.objects.create(at=now, counts=sweep.counts)
        sweep.keys_moved, sweep.epochs_destroyed_before = destroy_passed_epochs(today=today)
    logger.info(
        "retention sweep%s: %s; data keys moved to a later epoch %d; epochs destroyed before %s",
        " (dry run)" if dry_run else "",
        ", ".join(f"{name} {number}" for name, number in sweep.counts.items()),
        sweep.keys_moved,
        sweep.epochs_destroyed_before or "none",
    )
    return sweep
