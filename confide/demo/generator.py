"""Synthetic, internally consistent tracing data (Faker en_GB) for the demo and benchmarks.

Nothing here can reach a real person: NHS numbers come from the range NHS England never
issues, phone numbers from Ofcom's drama ranges, email addresses from domains reserved by
RFC 2606, and staff log in at the reserved `.test` domain.

Everything goes through the same validation, sealing and policy rules as live data
(build_person, build_staff_member, build_setting, infectious_period, contact_isolation_ends_on)
and is written with bulk inserts, one transaction per batch of cases.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import nhs_number
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from faker import Faker

from confide.cases.models import Case, CaseStatus, CaseTransition, Policy, ResultOutcome, TestResult
from confide.cases.policy import contact_isolation_ends_on, infectious_period
from confide.cases.transitions import ALLOWED_TRANSITIONS
from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.services import UnsavedPerson, build_person, save_people
from confide.people.validation import OFCOM_DRAMA_PREFIXES
from confide.privacy.crypto import unwrap_data_key
from confide.privacy.models import DataKey
from confide.staff.models import (
    AuthenticatorApp,
    Course,
    Role,
    StaffMember,
    Team,
    Tier,
    TrainingCohort,
    TrainingRecord,
)
from confide.staff.services import DATA_PROTECTION_TRAINING_VALID_FOR, build_staff_member
from confide.tracing.models import (
    TIER_ONE_SETTING_KINDS,
    Exposure,
    FollowUp,
    NotificationState,
    Proximity,
    Setting,
    SettingKind,
    SettingVisit,
)
from confide.tracing.services import build_setting, follow_up_days

DEMO_PASSWORD = "confide-demo-password"  # noqa: S105 — printed by `make run`; demo only
DEMO_EMAIL_DOMAIN = "demo.confide.test"
RESERVED_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
LAB_CODES = ("LHL-MK", "LHL-ALD", "LHL-GLA", "NHS-PATH-LEEDS", "NHS-PATH-BRISTOL")
BATCH_CASES = 250
# Public settings are named from words that are not people's names, so a test can search a
# database dump for every demo person's name without tripping over a school's.
PLACE_WORDS = (
    "Riverside",
    "Northgate",
    "Oakwood",
    "Hillcrest",
    "Meadowbank",
    "Brookfield",
    "Southfield",
    "Castlegate",
    "Millbrook",
    "Westfield",
    "Greenacres",
    "Harbourside",
    "Stonebridge",
)
SETTING_NAME_SUFFIX = {
    SettingKind.WORKPLACE: "Logistics Ltd",
    SettingKind.SCHOOL: "Primary School",
    SettingKind.CARE_HOME: "Care Home",
    SettingKind.VENUE: "Social Club",
    SettingKind.EVENT: "Community Fair",
    SettingKind.PRISON: "Prison",
}


# (role, login handle, team tier, how many)
STAFF_PLAN: list[tuple[str, str, int | None, int]] = [
    (Role.CALL_HANDLER, "call.handler", Tier.CALL_HANDLING, 3),
    (Role.CLINICIAN, "clinician", Tier.CLINICAL, 3),
    (Role.HEALTH_PROTECTION, "health.protection", Tier.LOCAL_HEALTH_PROTECTION, 2),
    (Role.SUPERVISOR, "supervisor", Tier.CLINICAL, 1),
    (Role.DATA_PROTECTION_OFFICER, "dpo", None, 1),
    (Role.ADMINISTRATOR, "admin", None, 1),
    (Role.SUPPORT_OFFICER, "support.officer", None, 1),
]


def _demo_email(handle: str, n: int, count: int) -> str:
    return f"{handle}{n if count > 1 else ''}@{DEMO_EMAIL_DOMAIN}"


def demo_logins() -> list[DemoLogin]:
    """The first account of each role, as printed by `make run`."""
    return [
        DemoLogin(role=Role(role).label, email=_demo_email(handle, 1, count))
        for role, handle, _tier, count in STAFF_PLAN
    ]


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str


@dataclass
class DemoSummary:
    cases: int = 0
    people: int = 0
    exposures: int = 0
    settings: int = 0
    staff: int = 0
    logins: list[DemoLogin] = field(default_factory=list)


class _Identities:
    """Unique synthetic identifiers: NHS numbers, drama-range phones, reserved-domain emails."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._nhs: set[str] = set()
        self._phones = [f"{p}{n:03d}" for p in OFCOM_DRAMA_PREFIXES for n in range(1000)]
        rng.shuffle(self._phones)
        self._email_serial = 0

    def nhs_number(self) -> str:
        while True:
            # nhs_number.generate draws from the module-level random; seed it from ours.
            random.seed(self._rng.random())
            candidate = str(nhs_number.generate(quantity=1)[0])
            if candidate not in self._nhs:
                self._nhs.add(candidate)
                return candidate

    def phone(self) -> str:
        # Five drama ranges hold 5,000 numbers; past that numbers repeat, as shared phones do.
        if self._phones:
            return self._phones.pop()
        return f"{self._rng.choice(OFCOM_DRAMA_PREFIXES)}{self._rng.randrange(1000):03d}"

    def email(self, given: str, family: str) -> str:
        self._email_serial += 1
        local = f"{given}.{family}".lower().replace(" ", "").replace("'", "")
        return f"{local}{self._email_serial}@{self._rng.choice(RESERVED_EMAIL_DOMAINS)}"


@dataclass
class _Batch:
    people: list[UnsavedPerson] = field(default_factory=list)
    settings: list[Setting] = field(default_factory=list)
    results: list[TestResult] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    transitions: list[CaseTransition] = field(default_factory=list)
    visits: list[SettingVisit] = field(default_factory=list)
    exposures: list[Exposure] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)


class DemoGenerator:
    def __init__(self, *, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.faker = Faker("en_GB")
        self.faker.seed_instance(seed)
        self.today = today
        self.ids = _Identities(self.rng)
        self.policies = list(Policy.objects.order_by("effective_from"))
        self.shared_contacts: list[Person] = []
        self.public_settings: list[Setting] = []
        self.tracers: dict[int, list[StaffMember]] = {}
        self._new_settings: list[Setting] = []

    # -- people and places ---------------------------------------------------------------

    def _details(
        self,
        *,
        family: str | None = None,
        address: tuple[str, str] | None = None,
        child: bool = False,
    ) -> PersonDetails:
        f = self.faker
        given = f.first_name()
        family = family or f.last_name()
        street, postcode = address or (f"{f.street_address()}, {f.city()}", f.postcode())
        dob = f.date_of_birth(minimum_age=1 if child else 18, maximum_age=17 if child else 92)
        return PersonDetails(
            given_name=given,
            family_name=family,
            date_of_birth=dob,
            nhs_number=self.ids.nhs_number(),
            phone="" if child else self.ids.phone(),
            email="" if child or self.rng.random() < 0.2 else self.ids.email(given, family),
            address=street,
            postcode=postcode,
        )

    def _person(self, batch: _Batch, details: PersonDetails) -> Person:
        unsaved = build_person(details, today=self.today)
        batch.people.append(unsaved)
        return unsaved.person

    def _public_setting(self) -> Setting:
        if len(self.public_settings) < 20 or self.rng.random() < 0.1:
            kind = self.rng.choices(
                [
                    SettingKind.WORKPLACE,
                    SettingKind.SCHOOL,
                    SettingKind.CARE_HOME,
                    SettingKind.VENUE,
                    SettingKind.EVENT,
                    SettingKind.PRISON,
                ],
                weights=[40, 20, 8, 20, 10, 2],
            )[0]
            name = f"{self.rng.choice(PLACE_WORDS)} {SETTING_NAME_SUFFIX[kind]}"
            setting = build_setting(
                kind=kind,
                name=name,
                address=f"{self.rng.randrange(1, 200)} {self.rng.choice(PLACE_WORDS)} Road",
                postcode=self.faker.postcode(),
            )
            self.public_settings.append(setting)
            self._new_settings.append(setting)
            return setting
        return self.rng.choice(self.public_settings)

    # -- cases ---------------------------------------------------------------------------

    def _policy_for(self, day: date) -> Policy:
        return [p for p in self.policies if p.effective_from <= day][-1]

    def _status_path(self, age_days: int) -> list[str]:
        """A plausible walk through the state machine for a case this many days old."""
        if age_days <= 1:
            ends = [CaseStatus.NEW, CaseStatus.ASSIGNED]
        elif age_days <= 4:
            ends = [
                CaseStatus.ASSIGNED,
                CaseStatus.IN_PROGRESS,
                CaseStatus.COMPLETED,
                CaseStatus.ESCALATED,
                CaseStatus.UNREACHABLE,
            ]
        else:
            ends = [CaseStatus.COMPLETED, CaseStatus.CLOSED, CaseStatus.UNREACHABLE]
        target = self.rng.choice(ends)
        paths: dict[str, list[str]] = {
            CaseStatus.NEW: [],
            CaseStatus.ASSIGNED: [CaseStatus.ASSIGNED],
            CaseStatus.IN_PROGRESS: [CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS],
            CaseStatus.COMPLETED: [
                CaseStatus.ASSIGNED,
                CaseStatus.IN_PROGRESS,
                CaseStatus.COMPLETED,
            ],
            CaseStatus.ESCALATED: [CaseStatus.ASSIGNED, CaseStatus.ESCALATED],
            CaseStatus.UNREACHABLE: [CaseStatus.ASSIGNED, CaseStatus.UNREACHABLE],
            CaseStatus.CLOSED: [
                CaseStatus.ASSIGNED,
                CaseStatus.IN_PROGRESS,
                CaseStatus.COMPLETED,
                CaseStatus.CLOSED,
            ],
        }
        return paths[target]

    def _case(self, batch: _Batch) -> None:
        rng = self.rng
        specimen = self.today - timedelta(days=rng.randrange(0, 14))
        onset = specimen - timedelta(days=rng.randrange(0, 5)) if rng.random() < 0.7 else None
        policy = self._policy_for(specimen)
        period = infectious_period(policy=policy, specimen_date=specimen, symptom_onset=onset)

        home = self._details()
        case_person = self._person(batch, home)
        household = build_setting(
            kind=SettingKind.HOUSEHOLD, address=home.address, postcode=home.postcode
        )
        self._new_settings.append(household)
        result = TestResult(
            lab_code=rng.choice(LAB_CODES),
            lab_result_id=f"R{rng.randrange(10**11):011d}",
            person=case_person,
            outcome=ResultOutcome.POSITIVE,
            specimen_date=specimen,
            test_code=rng.choice(["94500-6", "94309-2", "94558-4"]),
        )
        batch.results.append(result)
        visited = [self._public_setting() for _ in range(rng.choice([0, 1, 1, 2]))]
        tier = (
            Tier.LOCAL_HEALTH_PROTECTION
            if any(s.kind in TIER_ONE_SETTING_KINDS for s in visited)
            else Tier.CLINICAL
        )
        case = Case(
            person=case_person,
            test_result=result,
            policy=policy,
            specimen_date=specimen,
            symptom_onset=onset,
            infectious_from=period.starts_on,
            infectious_until=period.ends_on,
            tier=tier,
        )
        self._walk_states(batch, case, age_days=(self.today - specimen).days)
        batch.cases.append(case)
        last_day = min(period.ends_on, self.today)
        infectious_days = (last_day - period.starts_on).days
        for setting in visited:
            batch.visits.append(
                SettingVisit(
                    case=case,
                    setting=setting,
                    visited_on=period.starts_on
                    + timedelta(days=rng.randrange(infectious_days + 1)),
                )
            )

        contacts: list[tuple[Person, str, Setting | None]] = []
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
            member = self._person(
                batch,
                self._details(
                    family=home.family_name,
                    address=(home.address, home.postcode),
                    child=rng.random() < 0.3,
                ),
            )
            contacts.append((member, Proximity.HOUSEHOLD, household))
        for _ in range(rng.choice([0, 1, 2, 3, 4])):
            where = rng.choice(visited) if visited and rng.random() < 0.5 else None
            if self.shared_contacts and rng.random() < 0.15:
                # Named by more than one case: the same Person, a second Exposure.
                other = rng.choice(self.shared_contacts)
            else:
                other = self._person(batch, self._details())
                self.shared_contacts.append(other)
            if all(other is not c[0] for c in contacts):
                contacts.append((other, rng.choice([Proximity.CLOSE, Proximity.PROXIMITY]), where))
        if case.status == CaseStatus.NEW:
            return  # not interviewed yet: no contacts elicited
        for contact, proximity, where in contacts:
            last = period.starts_on + timedelta(days=rng.randrange(infectious_days + 1))
            ends = contact_isolation_ends_on(policy=policy, last_contact=last)
            exposure = Exposure(
                case=case,
                contact=contact,
                policy=policy,
                last_contact_on=last,
                proximity=proximity,
                setting=where,
                isolation_ends_on=ends,
                notification_state=NotificationState.SENT
                if rng.random() < 0.8
                else NotificationState.PENDING,
                recorded_by=case.assigned_to,
            )
            batch.exposures.append(exposure)
            if ends >= self.today:
                batch.follow_ups.extend(
                    FollowUp(person=contact, exposure=exposure, due_on=day)
                    for day in follow_up_days(starts_on=max(self.today, last), ends_on=ends)
                )

    def _walk_states(self, batch: _Batch, case: Case, *, age_days: int) -> None:
        tracer_pool = self.tracers[case.tier]
        tracer = self.rng.choice(tracer_pool)
        status: str = CaseStatus.NEW
        for step in self._status_path(age_days):
            assert step in ALLOWED_TRANSITIONS[status]
            batch.transitions.append(
                CaseTransition(
                    case=case, from_status=status, to_status=step, by=tracer, reason="demo history"
                )
            )
            status = step
        case.status = status
        if status in (CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS):
            case.assigned_to = tracer
        if status == CaseStatus.CLOSED:
            case.closed_at = timezone.now()
        if status in (CaseStatus.COMPLETED, CaseStatus.CLOSED):
            case.outcome = "Interview completed; contacts recorded"

    def batches(self, cases: int) -> Iterator[int]:
        """Generate and save `cases` cases, yielding the number saved after each batch."""
        for start in range(0, cases, BATCH_CASES):
            size = min(BATCH_CASES, cases - start)
            batch = _Batch()
            self._new_settings = []
            for _ in range(size):
                self._case(batch)
            batch.settings = self._new_settings
            _save(batch)
            yield size

    # -- staff ---------------------------------------------------------------------------

    def staff(self) -> list[DemoLogin]:
        teams: dict[int, Team] = {
            Tier.CALL_HANDLING: Team.objects.create(
                name="Call handling, North", tier=Tier.CALL_HANDLING, area="North of England"
            ),
            Tier.CLINICAL: Team.objects.create(
                name="Clinical case interviews", tier=Tier.CLINICAL, area="England"
            ),
            Tier.LOCAL_HEALTH_PROTECTION: Team.objects.create(
                name="Health protection, Yorkshire and the Humber",
                tier=Tier.LOCAL_HEALTH_PROTECTION,
                area="Yorkshire and the Humber",
            ),
        }
        password_hash = make_password(DEMO_PASSWORD)  # one slow hash for every demo account
        plan = [
            (role, handle, teams.get(tier) if tier else None, count)
            for role, handle, tier, count in STAFF_PLAN
        ]
        members: list[StaffMember] = []
        for role, handle, team, count in plan:
            for n in range(1, count + 1):
                email = _demo_email(handle, n, count)
                members.append(
                    build_staff_member(
                        display_name=self.faker.name(),
                        email=email,
                        role=role,
                        team=team,
                        phone=self.ids.phone(),
                        password_hash=password_hash,
                    )
                )
        # A cohort of new starters (the 2020 leak was an email to such a group): half trained.
        cohort_members = [
            build_staff_member(
                display_name=self.faker.name(),
                email=f"trainee{n:03d}@{DEMO_EMAIL_DOMAIN}",
                role=Role.CALL_HANDLER,
                team=teams[Tier.CALL_HANDLING],
                password_hash=password_hash,
            )
            for n in range(1, 31)
        ]
        everyone = members + cohort_members
        DataKey.objects.bulk_create([m.data_key for m in everyone])
        StaffMember.objects.bulk_create(everyone)
        # Demo accounts come with an authenticator already set up: `confide totp EMAIL` prints
        # the current code (development only); real staff set theirs up at first sign-in.
        AuthenticatorApp.objects.bulk_create(
            AuthenticatorApp(
                user=m,
                name="Demo authenticator",
                confirmed=True,
                key_sealed=AuthenticatorApp.sealed_key(unwrap_data_key(m.data_key)),
            )
            for m in members
        )
        cohort = TrainingCohort.objects.create(
            name=f"New starters {self.today:%B %Y}", starts_on=self.today - timedelta(days=3)
        )
        cohort.members.set(cohort_members)
        completed = self.today - timedelta(days=30)
        TrainingRecord.objects.bulk_create(
            TrainingRecord(
                staff_member=m,
                course=Course.DATA_PROTECTION,
                completed_on=completed,
                expires_on=completed + DATA_PROTECTION_TRAINING_VALID_FOR,
            )
            for m in members + cohort_members[::2]
        )
        for tier in Tier.values:
            self.tracers[tier] = [m for m in members if m.tier == tier]
        return demo_logins()


def _save(batch: _Batch) -> None:
    with transaction.atomic():
        save_people(batch.people)
        DataKey.objects.bulk_create([s.data_key for s in batch.settings])
        Setting.objects.bulk_create(batch.settings)
        TestResult.objects.bulk_create(batch.results)
        for case in batch.cases:
            case.test_result_id = case.test_result.pk if case.test_result else None
        Case.objects.bulk_create(batch.cases)
        for group in (batch.transitions, batch.visits, batch.exposures):
            for row in group:
                row.case_id = row.case.pk
        for visit in batch.visits:
            visit.setting_id = visit.setting.pk
        for exposure in batch.exposures:
            exposure.setting_id = exposure.setting.pk if exposure.setting else None
        CaseTransition.objects.bulk_create(batch.transitions)
        SettingVisit.objects.bulk_create(batch.visits, ignore_conflicts=True)
        Exposure.objects.bulk_create(batch.exposures)
        for follow_up in batch.follow_ups:
            follow_up.exposure_id = follow_up.exposure.pk if follow_up.exposure else None
        FollowUp.objects.bulk_create(batch.follow_ups)


def _queue_work(*, today: date) -> None:
    """Work items for the demo's cases, as live intake and claims would have made them."""
    from confide.tracing.clusters import flag_clusters
    from confide.workqueue.models import WorkItem, WorkKind, WorkState
    from confide.workqueue.services import enqueue_open_cases

    now = timezone.now()
    held = Case.objects.filter(
        status__in=[CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS], assigned_to__isnull=False
    ).values_list("pk", "tier", "assigned_to_id")
    WorkItem.objects.bulk_create(
        WorkItem(
            kind=WorkKind.CASE_INTERVIEW,
            tier=tier,
            state=WorkState.CLAIMED,
            case_id=case_id,
            claimed_by_id=tracer_id,
            claimed_at=now,
            available_at=now,
        )
        for case_id, tier, tracer_id in held
    )
    enqueue_open_cases(now=now)
    flag_clusters(around=today)
    # Contacts not yet notified in writing wait for a call handler (tier 3).
    WorkItem.objects.bulk_create(
        WorkItem(
            kind=WorkKind.CONTACT_CALL,
            tier=Tier.CALL_HANDLING,
            exposure_id=exposure_id,
            reason="not yet told in writing: phone them",
            available_at=now,
        )
        for exposure_id in Exposure.objects.filter(
            notification_state=NotificationState.PENDING, isolation_ends_on__gte=today
        ).values_list("pk", flat=True)
    )


def _date_the_history(*, now: datetime) -> None:
    """Give the demo a past: each case was opened the morning after its specimen was taken and
    its contacts were named that day, rather than everything at the moment the demo loaded,
    so past weeks are complete and the weekly statistics have something to publish. A
    completed case finished 2 to 29 hours after it was opened (within a day for most)."""
    for case_id, specimen in Case.objects.values_list("pk", "specimen_date").iterator():
        opened = timezone.make_aware(datetime.combine(specimen + timedelta(days=1), time(9)))
        if opened >= now:
            continue
        CaseTransition.objects.filter(case_id=case_id).update(at=opened)
        CaseTransition.objects.filter(case_id=case_id, to_status=CaseStatus.COMPLETED).update(
            at=opened + timedelta(hours=2 + case_id * 7 % 28)
        )
        Case.objects.filter(pk=case_id).update(created_at=opened)
        Exposure.objects.filter(case_id=case_id).update(created_at=opened + timedelta(hours=1))


def generate_demo(
    *,
    cases: int,
    seed: int = 2020,
    today: date | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Load a synthetic demo of `cases` cases with their contacts, settings and staff."""
    generator = DemoGenerator(seed=seed, today=today or timezone.localdate())
    with transaction.atomic():
        logins = generator.staff()
    for saved in generator.batches(cases):
        if on_progress:
            on_progress(saved)
    _queue_work(today=generator.today)
    _date_the_history(now=timezone.now())
    return DemoSummary(
        cases=Case.objects.count(),
        people=Person.objects.count(),
        exposures=Exposure.objects.count(),
        settings=Setting.objects.count(),
        staff=StaffMember.objects.count(),
        logins=logins,
    )
