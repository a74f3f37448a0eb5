"""Reads for the workspace pages: what one page shows, gathered in one place.

Every decryption of a person goes through `read_person`, so each page view writes its
AccessEvent with the purpose the page serves. The supervisor's dashboard reads counts and
references only; it never opens a case's person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import phonenumbers
from django.db import connection
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from confide.cases.models import Case
from confide.people.details import PersonDetails
from confide.people.models import Person, SafeguardingKind
from confide.people.selectors import active_safeguarding, person_details, read_person
from confide.people.services import PersonErased
from confide.privacy.audit import Access, record_accesses
from confide.privacy.models import AccessAction
from confide.staff.models import ROLE_TIER, Course, StaffMember, Team, Tier, TrainingRecord
from confide.staff.services import staff_contact_details
from confide.tracing.models import (
    Exposure,
    NotificationState,
    Proximity,
    Setting,
    SettingKind,
    SettingVisit,
)
from confide.workqueue.models import CallAttempt, CallOutcome, WorkItem, WorkKind, WorkState
from confide.workqueue.services import claim_timeout

PURPOSE_CASE_INTERVIEW = "case interview"
PURPOSE_CONTACTS_NAMED = "case interview: contacts the case named"
PURPOSE_CONTACT_CALL = "contact call"


def age_in_words(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if n
    ]
    return " ".join(parts[:2])


# --- the person on the phone -------------------------------------------------------------


@dataclass(frozen=True)
class PersonCard:
    """A person as a tracer may see them: `details` is None if they were erased; the address
    never leaves here when a safeguarding flag says not to disclose it."""

    details: PersonDetails | None
    address_withheld: bool
    safeguarding: list[str]


def phone_for_display(phone: str) -> str:
    """A stored E.164 number as a tracer dials it: 07700 900982 in the UK, +33 1 23 45 67 89
    abroad."""
    if not phone:
        return ""
    try:
        parsed = phonenumbers.parse(phone, "GB")
    except phonenumbers.NumberParseException:
        return phone
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 44
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)


def read_people(reads: list[tuple[Person, str]], *, by: StaffMember) -> list[PersonDetails | None]:
    """Decrypt the people one page shows (None for the erased), each read logged with its
    purpose as `read_person` logs it, but in one append to the access log: one lock of the
    chain's head per page rather than one per person."""
    details: list[PersonDetails | None] = []
    accesses = []
    for person, purpose in reads:
        try:
            details.append(person_details(person))
        except PersonErased:
            details.append(None)
            continue
        accesses.append(
            Access(
                action=AccessAction.VIEW,
                purpose=purpose,
                actor_reference=by.reference,
                subject_reference=person.reference,
                object_type="person",
                object_reference=str(person.reference),
            )
        )
    record_accesses(accesses)
    return details


def person_card(person: Person, *, by: StaffMember, purpose: str) -> PersonCard:
    try:
        details: PersonDetails | None = read_person(person, by=by, purpose=purpose)
    except PersonErased:
        details = None
    return _card(person, details)


def _card(person: Person, details: PersonDetails | None) -> PersonCard:
    flags = active_safeguarding(person)
    withheld = SafeguardingKind.DO_NOT_DISCLOSE_ADDRESS in flags
    if details is not None:
        details = replace(details, phone=phone_for_display(details.phone))
        if withheld:
            details = replace(details, address="", postcode="")
    labels = [SafeguardingKind(kind).label for kind in sorted(flags)]
    return PersonCard(details=details, address_withheld=withheld, safeguarding=labels)


@dataclass(frozen=True)
class AttemptLine:
    outcome: str
    at: datetime
    by_you: bool


def attempt_log(item: WorkItem, *, viewer: StaffMember) -> list[AttemptLine]:
    return [
        AttemptLine(
            outcome=CallOutcome(attempt.outcome).label,
            at=attempt.at,
            by_you=attempt.by_id == viewer.pk,
        )
        for attempt in CallAttempt.objects.filter(work_item=item).order_by("at", "pk")
    ]


# --- case interview ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceLine:
    kind: str
    name: str
    visited_on: date


@dataclass(frozen=True)
class ContactLine:
    given_name: str
    proximity: str
    last_contact_on: date
    isolation_ends_on: date
    notification: str
    notification_colour: str  # a GOV.UK tag modifier


def _notification(exposure: Exposure, *, call_queued: bool) -> tuple[str, str]:
    state = exposure.notification_state
    if state == NotificationState.FAILED:
        return "Failed — call them", "red"
    if state == NotificationState.SENT:
        return "Notified", "green"
    if state == NotificationState.QUEUED:
        return "Notification queued", "blue"
    if state == NotificationState.NOT_REQUIRED:
        return "Not required", "grey"
    if call_queued:
        return "No written contact — a call handler will phone them", "yellow"
    return "Not yet notified", "grey"


@dataclass(frozen=True)
class CaseInterviewPage:
    item: WorkItem
    case: Case
    person: PersonCard
    places: list[PlaceLine]
    contacts: list[ContactLine]
    attempts: list[AttemptLine]


def case_interview_page(*, item: WorkItem, by: StaffMember) -> CaseInterviewPage:
    case = item.case
    assert case is not None
    places = [
        PlaceLine(
            kind=SettingKind(visit.setting.kind).label,
            name=visit.setting.name,
            visited_on=visit.visited_on,
        )
        for visit in SettingVisit.objects.filter(
            case=case,
            visited_on__gte=case.infectious_from,
            visited_on__lte=case.infectious_until,
        )
        .select_related("setting")
        .order_by("visited_on", "pk")
    ]
    open_call = WorkItem.objects.filter(
        kind=WorkKind.CONTACT_CALL,
        exposure=OuterRef("pk"),
        state__in=[WorkState.WAITING, WorkState.CLAIMED],
    )
    exposures = list(
        Exposure.objects.filter(case=case)
        .select_related("contact__data_key")
        .annotate(call_queued=Exists(open_call))
        .order_by("created_at", "pk")
    )
    person, *named = read_people(
        [(case.person, PURPOSE_CASE_INTERVIEW)]
        + [(exposure.contact, PURPOSE_CONTACTS_NAMED) for exposure in exposures],
        by=by,
    )
    contacts = []
    for exposure, contact in zip(exposures, named, strict=True):
        label, colour = _notification(exposure, call_queued=exposure.call_queued)
        contacts.append(
            ContactLine(
                given_name=contact.given_name if contact is not None else "(erased)",
                proximity=Proximity(exposure.proximity).label,
                last_contact_on=exposure.last_contact_on,
                isolation_ends_on=exposure.isolation_ends_on,
                notification=label,
                notification_colour=colour,
            )
        )
    return CaseInterviewPage(
        item=item,
        case=case,
        person=_card(case.person, person),
        places=places,
        contacts=contacts,
        attempts=attempt_log(item, viewer=by),
    )


# --- contact call ------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactCallPage:
    """A contact's own details and their own isolation date. Nothing here is read from the
    case who named them: the exposure's case is never loaded."""

    item: WorkItem
    person: PersonCard
    isolation_ends_on: date
    attempts: list[AttemptLine]


def contact_call_page(*, item: WorkItem, by: StaffMember) -> ContactCallPage:
    exposure = item.exposure
    assert exposure is not None
    return ContactCallPage(
        item=item,
        person=person_card(exposure.contact, by=by, purpose=PURPOSE_CONTACT_CALL),
        isolation_ends_on=exposure.isolation_ends_on,
        attempts=attempt_log(item, viewer=by),
    )


# --- setting review ------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkedCase:
    reference: uuid.UUID
    visited_on: date
    infectious_from: date
    infectious_until: date


@dataclass(frozen=True)
class SettingReviewPage:
    item: WorkItem
    setting: Setting
    kind: str
    cases: list[LinkedCase]


def setting_review_page(*, item: WorkItem) -> SettingReviewPage:
    """The setting and the cases linked to it through visits: references and dates only."""
    setting = item.setting
    assert setting is not None
    visits = (
        SettingVisit.objects.filter(setting=setting)
        .select_related("case")
        .order_by("-visited_on", "pk")[:500]
    )
    return SettingReviewPage(
        item=item,
        setting=setting,
        kind=SettingKind(setting.kind).label,
        cases=[
            LinkedCase(
                reference=visit.case.reference,
                visited_on=visit.visited_on,
                infectious_from=visit.case.infectious_from,
                infectious_until=visit.case.infectious_until,
            )
            for visit in visits
        ],
    )


# --- queues ----------------------------------------------------------------------------


# A tracer needs to know whether work is waiting and roughly how much, not an exact count of
# a national queue: counting stops here, so the page costs the same however long the queue.
QUEUE_DEPTH_SHOWN = 1000


@dataclass(frozen=True)
class QueueDepth:
    ready: int
    later: int

    @staticmethod
    def shown(count: int) -> str:
        return f"More than {QUEUE_DEPTH_SHOWN:,}" if count > QUEUE_DEPTH_SHOWN else f"{count:,}"

    @property
    def ready_shown(self) -> str:
        return self.shown(self.ready)

    @property
    def later_shown(self) -> str:
        return self.shown(self.later)


def queue_depth(*, tier: int, now: datetime | None = None) -> QueueDepth:
    """How many items wait in a tier's queue: offered now, and waiting for a retry time, each
    counted up to one more than QUEUE_DEPTH_SHOWN (read from the index of waiting items)."""
    now = now or timezone.now()
    waiting = WorkItem.objects.filter(tier=tier, state=WorkState.WAITING)
    ready_sql, ready_params = (
        waiting.filter(available_at__lte=now).values("pk")[: QUEUE_DEPTH_SHOWN + 1].query
    ).sql_with_params()
    later_sql, later_params = (
        waiting.filter(available_at__gt=now).values("pk")[: QUEUE_DEPTH_SHOWN + 1].query
    ).sql_with_params()
    with connection.cursor() as cursor:  # both counts in one round trip
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM ({ready_sql}) AS ready), "  # noqa: S608
            f"(SELECT COUNT(*) FROM ({later_sql}) AS later)",
            [*ready_params, *later_params],
        )
        ready, later = cursor.fetchone()
    return QueueDepth(ready=ready, later=later)


@dataclass(frozen=True)
class TierRow:
    tier: int
    label: str
    waiting: int
    waiting_later: int
    oldest_waiting: str
    claimed: int
    completed_last_day: int


def _open_or_done_since(moment: datetime) -> QuerySet[WorkItem]:
    """The items a dashboard counts: open ones, and those finished since `moment` — found
    through the state indexes, never by reading every item ever worked."""
    return WorkItem.objects.filter(
        Q(state__in=(WorkState.WAITING, WorkState.CLAIMED))
        | Q(state=WorkState.DONE, completed_at__gte=moment)
    )


def tier_rows(*, now: datetime | None = None) -> list[TierRow]:
    now = now or timezone.now()
    day_ago = now - timedelta(hours=24)
    by_tier = {
        row["tier"]: row
        for row in _open_or_done_since(day_ago)
        .values("tier")
        .annotate(
            waiting=Count("pk", filter=Q(state=WorkState.WAITING, available_at__lte=now)),
            waiting_later=Count("pk", filter=Q(state=WorkState.WAITING, available_at__gt=now)),
            oldest=Min("created_at", filter=Q(state=WorkState.WAITING)),
            claimed=Count("pk", filter=Q(state=WorkState.CLAIMED)),
            completed=Count("pk", filter=Q(state=WorkState.DONE, completed_at__gte=day_ago)),
        )
    }
    rows = []
    for tier, label in Tier.choices:
        row = by_tier.get(tier, {})
        oldest = row.get("oldest")
        rows.append(
            TierRow(
                tier=tier,
                label=label,
                waiting=row.get("waiting", 0),
                waiting_later=row.get("waiting_later", 0),
                oldest_waiting=age_in_words(now - oldest) if oldest else "None waiting",
                claimed=row.get("claimed", 0),
                completed_last_day=row.get("completed", 0),
            )
        )
    return rows


@dataclass(frozen=True)
class TeamRow:
    name: str
    tier: str
    tracers: int
    claimed: int
    completed_last_day: int


def team_rows(*, now: datetime | None = None) -> list[TeamRow]:
    now = now or timezone.now()
    day_ago = now - timedelta(hours=24)
    work = {
        row["claimed_by__team"]: row
        for row in _open_or_done_since(day_ago)
        .filter(claimed_by__team__isnull=False)
        .values("claimed_by__team")
        .annotate(
            claimed=Count("pk", filter=Q(state=WorkState.CLAIMED)),
            completed=Count("pk", filter=Q(state=WorkState.DONE, completed_at__gte=day_ago)),
        )
    }
    rows = []
    for team in Team.objects.annotate(
        tracers=Count("staffmember", filter=Q(staffmember__is_active=True))
    ).order_by("tier", "name"):
        row = work.get(team.pk, {})
        rows.append(
            TeamRow(
                name=team.name,
                tier=Tier(team.tier).label if team.tier else "No tier",
                tracers=team.tracers,
                claimed=row.get("claimed", 0),
                completed_last_day=row.get("completed", 0),
            )
        )
    return rows


TIER_ROLE = {tier: role for role, tier in ROLE_TIER.items() if tier is not None}


def trained_tracers(*, tier: int, on: date | None = None) -> list[StaffMember]:
    """Tracers of a tier who may be given work: active, with in-date data-protection training."""
    on = on or timezone.localdate()
    in_date = TrainingRecord.objects.filter(
        staff_member=OuterRef("pk"),
        course=Course.DATA_PROTECTION,
        completed_on__lte=on,
        expires_on__gte=on,
    )
    return list(
        StaffMember.objects.filter(role=TIER_ROLE[tier], is_active=True)
        .filter(Exists(in_date))
        .select_related("data_key")
        .order_by("pk")
    )


@dataclass(frozen=True)
class ClaimedLine:
    item_id: int
    kind: str
    tier: int
    subject_reference: str
    tracer_reference: uuid.UUID
    tracer_name: str | None
    tracer_id: int
    claimed_for: str
    timed_out: bool


def claimed_items(
    *, show_names: bool, now: datetime | None = None, limit: int = 200
) -> list[ClaimedLine]:
    """Items with a tracer now, oldest claim first: references, and the tracer's name for a
    supervisor allowed to see staff details."""
    now = now or timezone.now()
    names: dict[int, str | None] = {}
    lines = []
    for item in (
        WorkItem.objects.filter(state=WorkState.CLAIMED)
        .select_related("claimed_by__data_key", "case", "exposure", "setting")
        .order_by("claimed_at", "pk")[:limit]
    ):
        tracer = item.claimed_by
        assert tracer is not None
        assert item.claimed_at is not None
        if show_names and tracer.pk not in names:
            names[tracer.pk] = staff_contact_details(tracer)["display_name"]
        if item.case is not None:
            subject = f"Case {item.case.reference}"
        elif item.exposure is not None:
            subject = f"Contact link {item.exposure.pk}"
        else:
            subject = f"Setting {item.setting_id}"
        lines.append(
            ClaimedLine(
                item_id=item.pk,
                kind=WorkKind(item.kind).label,
                tier=item.tier,
                subject_reference=subject,
                tracer_reference=tracer.reference,
                tracer_name=names.get(tracer.pk),
                tracer_id=tracer.pk,
                claimed_for=age_in_words(now - item.claimed_at),
                timed_out=now - item.claimed_at > claim_timeout(),
            )
        )
    return lines


def tracer_choices(*, tier: int) -> list[tuple[str, str]]:
    """(reference, display name) of the trained tracers of a tier, for a supervisor."""
    return [
        (str(member.reference), staff_contact_details(member)["display_name"] or "Unnamed")
        for member in trained_tracers(tier=tier)
    ]


# --- population search -----------------------------------------------------------------


@dataclass(frozen=True)
class SearchMatch:
    person_reference: uuid.UUID
    case_references: list[uuid.UUID]
    named_as_contact: int


def search_matches(people: list[Person]) -> list[SearchMatch]:
    """What a search shows: that a record exists, its case references, nothing personal."""
    return [
        SearchMatch(
            person_reference=person.reference,
            case_references=list(
                Case.objects.filter(person=person)
                .order_by("-specimen_date")
                .values_list("reference", flat=True)
            ),
            named_as_contact=Exposure.objects.filter(contact=person).count(),
        )
        for person in people
    ]
