"""Writes about tracing: settings, visits, exposures (contacts) and their daily follow-ups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from confide.cases.models import Case
from confide.cases.policy import contact_isolation_ends_on
from confide.matching.services import match_people, queue_likely_matches
from confide.people.details import PersonDetails, validate_person_details
from confide.people.models import Person
from confide.people.services import create_person
from confide.people.validation import check_event_date, normalise_postcode
from confide.privacy.blind_index import IndexKind, blind_index
from confide.privacy.crypto import new_data_key
from confide.staff.models import StaffMember
from confide.tracing.models import (
    Exposure,
    FollowUp,
    Proximity,
    Setting,
    SettingKind,
    SettingVisit,
)

if TYPE_CHECKING:
    from confide.workqueue.models import WorkItem


def build_setting(*, kind: str, name: str = "", address: str = "", postcode: str = "") -> Setting:
    """A sealed, unsaved setting (its data key unsaved too)."""
    errors: dict[str, list[str]] = {}
    if kind not in SettingKind.values:
        errors["kind"] = ["Choose the kind of setting"]
    if kind == SettingKind.HOUSEHOLD and name:
        errors["name"] = ["A household is not named; give its address instead"]
    clean_postcode = ""
    if postcode:
        try:
            clean_postcode = normalise_postcode(postcode)
        except ValidationError as exc:
            errors["postcode"] = exc.messages
    if errors:
        raise ValidationError(errors)
    data_key, key = new_data_key()
    return Setting(
        kind=kind,
        name=" ".join(name.split()),
        data_key=data_key,
        address_sealed=key.seal("setting.address", " ".join(address.split())),
        postcode_sealed=key.seal("setting.postcode", clean_postcode),
        postcode_index=blind_index(IndexKind.POSTCODE, clean_postcode),
    )


def create_setting(*, kind: str, name: str = "", address: str = "", postcode: str = "") -> Setting:
    setting = build_setting(kind=kind, name=name, address=address, postcode=postcode)
    with transaction.atomic():
        setting.data_key.save(force_insert=True)
        setting.save(force_insert=True)
    return setting


def record_visit(*, case: Case, setting: Setting, visited_on: date) -> SettingVisit:
    if not case.infectious_from <= visited_on <= case.infectious_until:
        raise ValidationError(
            {"visited_on": ["The visit must be within the case's infectious period"]}
        )
    visit, _ = SettingVisit.objects.get_or_create(case=case, setting=setting, visited_on=visited_on)
    return visit


def follow_up_days(*, starts_on: date, ends_on: date) -> list[date]:
    """One check a day from the day after notification to the last day of isolation."""
    return [starts_on + timedelta(days=n) for n in range(1, (ends_on - starts_on).days + 1)]


def record_exposure(
    *,
    case: Case,
    contact: Person,
    last_contact: date,
    proximity: str,
    setting: Setting | None = None,
    by: StaffMember | None = None,
    today: date | None = None,
    notify: bool = True,
    new_contact: bool = False,
) -> Exposure:
    """Link a contact to a case with their isolation end date from the case's policy, and
    (when `notify`) queue the contact's own notification in the same transaction.

    Re-recording the same contact for the same case updates the link (latest contact wins);
    a contact can never be linked to themselves. `new_contact` says the contact was created
    in the caller's transaction, so no link of theirs can exist yet and none is looked for.
    """
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}
    try:
        check_event_date(last_contact, today=today, what="date of last contact")
    except ValidationError as exc:
        errors["last_contact"] = exc.messages
    else:
        if not case.infectious_from <= last_contact <= case.infectious_until:
            errors["last_contact"] = [
                "The date of last contact must be during the case's infectious period, "
                f"{case.infectious_from:%-d %B %Y} to {case.infectious_until:%-d %B %Y}"
            ]
    if proximity not in Proximity.values:
        errors["proximity"] = ["Choose how the contact happened"]
    if contact.pk == case.person_id:
        errors["contact"] = ["A case cannot be their own contact"]
    if errors:
        raise ValidationError(errors)
    ends_on = contact_isolation_ends_on(policy=case.policy, last_contact=last_contact)
    # No savepoint of its own (every input was checked above): anything failing in here fails
    # the caller's transaction too, as it should, since the contact must not be half-recorded.
    with transaction.atomic(savepoint=False):
        defaults = {
            "policy": case.policy,
            "last_contact_on": last_contact,
            "proximity": proximity,
            "setting": setting,
            "isolation_ends_on": ends_on,
            "recorded_by": by,
        }
        if new_contact:
            exposure = Exposure(case=case, contact=contact, **defaults)
            exposure.save(force_insert=True)
            created = True
        else:
            exposure, created = Exposure.objects.select_for_update().get_or_create(
                case=case, contact=contact, defaults=defaults
            )
        if not created and last_contact > exposure.last_contact_on:
            exposure.last_contact_on = last_contact
            exposure.isolation_ends_on = ends_on
            exposure.proximity = proximity
            exposure.save(update_fields=["last_contact_on", "isolation_ends_on", "proximity"])
        FollowUp.objects.bulk_create(
            [
                FollowUp(person=contact, exposure=exposure, due_on=day)
                for day in follow_up_days(starts_on=max(today, last_contact), ends_on=ends_on)
            ],
            ignore_conflicts=True,
        )
        if created and notify:
            from confide.tracing.notifications import notify_contact

            notify_contact(exposure=exposure)
    return exposure


def find_or_create_setting(*, kind: str, name: str = "", postcode: str = "") -> Setting:
    """The setting a tracer names: the one we hold with the same kind, name and postcode (so
    visits by different cases meet at one Setting and clusters can be seen), or a new one.

    A household is someone's home and has no name in clear, so each is recorded afresh.
    """
    errors: dict[str, list[str]] = {}
    clean_name = " ".join(name.split())
    if kind != SettingKind.HOUSEHOLD and kind in SettingKind.values and not clean_name:
        errors["name"] = ["Enter the name of the place"]
    if not postcode.strip():
        errors["postcode"] = ["Enter the postcode"]
    if errors:
        raise ValidationError(errors)
    unsaved = build_setting(kind=kind, name=clean_name, postcode=postcode)  # validates
    if kind != SettingKind.HOUSEHOLD:
        existing = (
            Setting.objects.filter(
                kind=kind, postcode_index=unsaved.postcode_index, name__iexact=clean_name
            )
            .order_by("pk")
            .first()
        )
        if existing is not None:
            return existing
    with transaction.atomic():
        unsaved.data_key.save(force_insert=True)
        unsaved.save(force_insert=True)
    return unsaved


@dataclass(frozen=True)
class ReportedVisit:
    """A visit a case told us about, and the tier-1 review it raised, if any."""

    visit: SettingVisit
    setting_review: WorkItem | None
    cluster_review: WorkItem | None


def record_setting_visit(
    *, case: Case, kind: str, name: str, postcode: str, visited_on: date
) -> ReportedVisit:
    """Record where a case went while infectious. A care home, school, prison or healthcare
    setting goes to local health protection (tier 1) for review, as in England in 2020, and
    so does a setting where this visit completes a cluster."""
    from confide.tracing.clusters import flag_cluster_at
    from confide.tracing.models import TIER_ONE_SETTING_KINDS
    from confide.workqueue.services import enqueue_setting_review

    with transaction.atomic():
        setting = find_or_create_setting(kind=kind, name=name, postcode=postcode)
        visit = record_visit(case=case, setting=setting, visited_on=visited_on)
        review = None
        if setting.kind in TIER_ONE_SETTING_KINDS:
            review = enqueue_setting_review(
                setting=setting,
                reason=f"{SettingKind(setting.kind).label} visited by a case while infectious",
            )
        cluster = flag_cluster_at(setting=setting, around=visited_on)
    return ReportedVisit(visit=visit, setting_review=review, cluster_review=cluster)


@dataclass(frozen=True)
class NamedContact:
    exposure: Exposure
    linked_to_known_person: bool


def record_named_contact(
    *,
    case: Case,
    details: PersonDetails,
    last_contact: date,
    proximity: str,
    by: StaffMember | None,
    today: date | None = None,
) -> NamedContact:
    """A contact a case names in interview: linked to the person we already hold (a sure
    match, see confide.matching and `find_known_person`'s household rule) instead of a
    duplicate, or created, with any likely match put to the supervisors' review queue; then
    the exposure, which queues the contact's own notification.

    Raises ValidationError by field and saves nothing (no person either) if anything is wrong.
    """
    today = today or timezone.localdate()
    clean = validate_person_details(details, today=today)
    with transaction.atomic():
        match = match_people([clean])[0]
        known = match.person
        contact = known or create_person(details=clean, today=today)
        if known is None and match.likely:
            queue_likely_matches(contact, match.likely, source="named contact")
        exposure = record_exposure(
            case=case,
            contact=contact,
            last_contact=last_contact,
            proximity=proximity,
            by=by,
            today=today,
            new_contact=known is None,
        )
    return NamedContact(exposure=exposure, linked_to_known_person=known is not None)
