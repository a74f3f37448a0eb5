"""A synthetic population, loaded fast: N people, N cases with their results, 2N exposures with
today's and yesterday's follow-ups, and the cases' interview items.

People are validated and sealed by production code (`build_person`: a new data key wrapped by
the master key, the eight personal fields sealed, the five blind indexes), in worker processes
when there are several cores, since the crypto is the cost. Rows go in with COPY on PostgreSQL
and one executemany per table on SQLite. Per-row matching is skipped (the people are unique by
construction: serial NHS numbers from the never-issued range, serial emails at a reserved
domain), so no matching encodings are written; every other row is what the services write.

Shape, for the growth benchmark and the query-plan test:

- cases: specimen dates over the last 14 days under the policy in force; the newest tenth is
  NEW with a waiting interview, the rest COMPLETED or CLOSED with a finished one;
- exposures: two per case (the next two people in the population), household or close; the
  newer half of the cases' contacts are still isolating ("active": N of the 2N exposures);
- follow-ups of active contacts: today's is due; yesterday's is done for 90 %, left due
  (to become missed) for 10 %, and half of those also missed the day before (to be chased);
- a likely match waiting for review per 100 people, a completed import run per 1,000 results.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, connections, transaction
from django.utils import timezone
from rich.progress import Progress

from confide.cases.models import CaseStatus, Policy, ResultOutcome
from confide.people.details import PersonDetails
from confide.people.services import build_person
from confide.people.validation import OFCOM_DRAMA_PREFIXES
from confide.privacy.models import DataKey
from confide.staff.models import Tier
from confide.tracing.models import FollowUpOutcome, FollowUpStatus, NotificationState, Proximity
from confide.workqueue.models import WorkKind, WorkState

CHUNK = 2_000
ACTIVE_FRACTION = 0.5
SPREAD_DAYS = 14
LAB_CODE = "BENCH-LAB"
FIRST_NAMES = ("Amelia", "Olivia", "Isla", "Ava", "Mia", "Noah", "Oliver", "George", "Arthur")
SURNAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Davies", "Khan")
STREETS = ("High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "The Green")
POSTCODES = ("SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "LS1 4AP", "EH1 1YZ")

PERSON_COLUMNS = (
    "id",
    "reference",
    "data_key_id",
    "given_name_sealed",
    "family_name_sealed",
    "date_of_birth_sealed",
    "nhs_number_sealed",
    "phone_sealed",
    "email_sealed",
    "address_sealed",
    "postcode_sealed",
    "nhs_number_index",
    "email_index",
    "phone_index",
    "surname_dob_index",
    "postcode_index",
    "preferred_language",
    "created_at",
    "updated_at",
)
# Every column `new_data_key` fills (a retention epoch too, where keys have one), then created_at.
_KEY_NAMES = {f.name for f in DataKey._meta.concrete_fields}
DATA_KEY_COLUMNS = (
    *(n for n in ("id", "wrapped_key", "master_version", "retention_epoch") if n in _KEY_NAMES),
    "created_at",
)
RESULT_COLUMNS = (
    "id",
    "lab_code",
    "lab_result_id",
    "person_id",
    "outcome",
    "specimen_date",
    "test_code",
    "received_at",
)
CASE_COLUMNS = (
    "id",
    "reference",
    "person_id",
    "test_result_id",
    "policy_id",
    "specimen_date",
    "symptom_onset",
    "infectious_from",
    "infectious_until",
    "status",
    "tier",
    "outcome",
    "created_at",
    "updated_at",
    "closed_at",
)
EXPOSURE_COLUMNS = (
    "id",
    "case_id",
    "contact_id",
    "policy_id",
    "last_contact_on",
    "proximity",
    "isolation_ends_on",
    "notification_state",
    "created_at",
)
FOLLOW_UP_COLUMNS = (
    "person_id",
    "exposure_id",
    "due_on",
    "status",
    "outcome",
    "completed_at",
)
MATCH_REVIEW_COLUMNS = (
    "person_id",
    "candidate_id",
    "score",
    "source",
    "state",
    "reason",
    "created_at",
)
IMPORT_RUN_COLUMNS = (
    "reference",
    "source",
    "format",
    "lab_code",
    "status",
    "received",
    "imported",
    "duplicates",
    "rejected",
    "positives",
    "negatives",
    "cases_opened",
    "cases_closed",
    "failure",
    "started_at",
    "finished_at",
)
# A likely match waiting for a supervisor per REVIEW_EVERY people, and an import run (a lab's
# file) per RUN_EVERY results, so the review queue and the import runs page list real rows.
REVIEW_EVERY = 100
RUN_EVERY = 1_000
WORK_ITEM_COLUMNS = (
    "kind",
    "tier",
    "priority",
    "state",
    "case_id",
    "reason",
    "available_at",
    "attempts",
    "created_at",
    "completed_at",
)


def nhs_number(serial: int) -> str:
    """The serial-th valid NHS number of the never-issued synthetic range (9xx xxx xxxx)."""
    base = 900_000_000 + serial * 11 // 10
    while True:
        digits = f"{base:09d}"
        total = sum(int(d) * (10 - i) for i, d in enumerate(digits))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            return digits + str(check)
        base += 1


def person_details(serial: int) -> PersonDetails:
    """Plausible, unique details; phones from Ofcom's drama ranges, emails at a reserved domain."""
    rng = random.Random(serial)
    return PersonDetails(
        given_name=rng.choice(FIRST_NAMES),
        family_name=rng.choice(SURNAMES),
        date_of_birth=date(1940, 1, 1) + timedelta(days=rng.randrange(25_000)),
        nhs_number=nhs_number(serial),
        phone=f"{rng.choice(OFCOM_DRAMA_PREFIXES)}{rng.randrange(1000):03d}",
        email=f"person{serial}@example.org" if serial % 2 else "",
        address=f"{rng.randrange(1, 300)} {rng.choice(STREETS)}",
        postcode=rng.choice(POSTCODES),
    )


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _sealed_rows(job: tuple[int, int, str]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Data key and person rows for serials [first, first + count), sealed by production code."""
    first, count, today_iso = job
    today = date.fromisoformat(today_iso)
    now = timezone.now()
    keys, people = [], []
    for serial in range(first, first + count):
        built = build_person(person_details(serial), today=today)
        key, person = built.data_key, built.person
        keys.append(
            (
                *(
                    _bytes(key.wrapped_key) if name == "wrapped_key" else getattr(key, name)
                    for name in DATA_KEY_COLUMNS[:-1]
                ),
                now,
            )
        )
        people.append(
            (
                serial,
                uuid.uuid4(),
                key.id,
                *(_bytes(getattr(person, column)) for column in PERSON_COLUMNS[3:11]),
                person.nhs_number_index,
                person.email_index,
                person.phone_index,
                person.surname_dob_index,
                person.postcode_index,
                "en",
                now,
                now,
            )
        )
    return keys, people


Rows = list[tuple[Any, ...]]


def _stand_in_rows(job: tuple[int, int, str]) -> tuple[Rows, Rows]:
    """Rows of the same shape and sizes as `_sealed_rows` without the crypto: random bytes for
    the wrapped key and ciphertexts, random hex for the blind indexes. Only for measuring query
    plans and list pages (the query-plan test), never for anything that decrypts."""
    first, count, _today = job
    now = timezone.now()
    keys, people = [], []
    for serial in range(first, first + count):
        key_id = uuid.uuid4()
        stand_in = {"id": key_id, "wrapped_key": os.urandom(60), "master_version": 1}
        keys.append((*(stand_in.get(name) for name in DATA_KEY_COLUMNS[:-1]), now))
        people.append(
            (
                serial,
                uuid.uuid4(),
                key_id,
                *(os.urandom(40) for _ in range(8)),
                *(os.urandom(16).hex() for _ in range(5)),
                "en",
                now,
                now,
            )
        )
    return keys, people


def insert_rows(table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL, one executemany on SQLite."""
    if not rows:
        return
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("%s" for _ in columns)
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608
                [tuple(str(v) if isinstance(v, uuid.UUID) else v for v in row) for row in rows],
            )


@dataclass(frozen=True)
class Population:
    people: int
    cases: int
    exposures: int
    active_contacts: int
    follow_ups_due_today: int
    seconds: float


def _next_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        return int(cursor.fetchone()[0]) + 1


def _sealing_jobs(first: int, size: int, today: date) -> Iterator[tuple[int, int, str]]:
    for start in range(0, size, CHUNK):
        yield first + start, min(CHUNK, size - start), today.isoformat()


def _other_rows(
    people: range,
    *,
    size: int,
    population_first: int,
    exposure_first: int,
    today: date,
    now: datetime,
    policy: Policy,
) -> dict[str, list[tuple[Any, ...]]]:
    """Results, cases, interviews, exposures and follow-ups of the cases of `people`."""
    rows: dict[str, list[tuple[Any, ...]]] = {
        "cases_testresult": [],
        "cases_case": [],
        "workqueue_workitem": [],
        "tracing_exposure": [],
        "tracing_followup": [],
        "matching_matchreview": [],
        "ingest_importrun": [],
    }
    yesterday, day_before = today - timedelta(days=1), today - timedelta(days=2)
    for serial in people:
        i = serial - population_first  # the case's position: 0 oldest, size - 1 newest
        rng = random.Random(-serial)
        age = (size - 1 - i) * SPREAD_DAYS / max(size, 1)
        created = now - timedelta(days=age)
        specimen = today - timedelta(days=int(age))
        onset = specimen - timedelta(days=rng.randrange(0, 4)) if rng.random() < 0.7 else None
        anchor = onset or specimen
        new = i >= size * 0.9
        status = CaseStatus.NEW if new else rng.choice((CaseStatus.COMPLETED, CaseStatus.CLOSED))
        tier = Tier.LOCAL_HEALTH_PROTECTION if rng.random() < 0.05 else Tier.CLINICAL
        rows["cases_testresult"].append(
            (
                serial,
                LAB_CODE,
                f"R{serial:011d}",
                serial,
                ResultOutcome.POSITIVE,
                specimen,
                "94500-6",
                created,
            )
        )
        rows["cases_case"].append(
            (
                serial,
                uuid.uuid4(),
                serial,
                serial,
                policy.pk,
                specimen,
                onset,
                anchor - timedelta(days=policy.infectious_days_before),
                anchor + timedelta(days=policy.infectious_days_after),
                status,
                tier,
                "" if new else "interview completed",
                created,
                created,
                created + timedelta(hours=6) if status == CaseStatus.CLOSED else None,
            )
        )
        rows["workqueue_workitem"].append(
            (
                WorkKind.CASE_INTERVIEW,
                tier,
                50,
                WorkState.WAITING if new else WorkState.DONE,
                serial,
                "",
                created,
                0 if new else 1,
                created,
                None if new else created + timedelta(hours=2),
            )
        )
        if i % REVIEW_EVERY == REVIEW_EVERY // 2:
            # The new record and the one held before it: an earlier person, already inserted.
            rows["matching_matchreview"].append(
                (serial, serial - 1, 0.9, "result", "open", "", created)
            )
        if i % RUN_EVERY == 0:
            received = min(RUN_EVERY, size - i)
            rows["ingest_importrun"].append(
                (
                    uuid.uuid4(),
                    "cli",
                    "csv",
                    LAB_CODE,
                    "completed",
                    received,
                    received,
                    0,
                    0,
                    received,
                    0,
                    received,
                    0,
                    "",
                    created,
                    created + timedelta(minutes=1),
                )
            )
        active = i >= size * (1 - ACTIVE_FRACTION)
        for n in (1, 2):
            exposure_id = exposure_first + 2 * i + n - 1
            # Earlier people (already inserted); the first two cases name the next two.
            contact = population_first + (i - n if i >= 2 else i + n)
            last_contact = specimen - timedelta(days=n - 1)
            ends = (
                today + timedelta(days=1 + rng.randrange(9))
                if active
                else today - timedelta(days=1 + rng.randrange(5))
            )
            ends = max(ends, last_contact)
            rows["tracing_exposure"].append(
                (
                    exposure_id,
                    serial,
                    contact,
                    policy.pk,
                    last_contact,
                    Proximity.HOUSEHOLD if n == 1 else Proximity.CLOSE,
                    ends,
                    NotificationState.SENT,
                    created,
                )
            )
            if not active:
                continue
            rows["tracing_followup"].append(
                (contact, exposure_id, today, FollowUpStatus.DUE, "", None)
            )
            roll = rng.random()
            if roll < 0.9:
                rows["tracing_followup"].append(
                    (
                        contact,
                        exposure_id,
                        yesterday,
                        FollowUpStatus.DONE,
                        FollowUpOutcome.WELL,
                        now - timedelta(hours=20),
                    )
                )
            else:
                rows["tracing_followup"].append(
                    (contact, exposure_id, yesterday, FollowUpStatus.DUE, "", None)
                )
                if roll < 0.95:
                    rows["tracing_followup"].append(
                        (
                            contact,
                            exposure_id,
                            day_before,
                            FollowUpStatus.MISSED,
                            FollowUpOutcome.UNREACHABLE,
                            now - timedelta(hours=44),
                        )
                    )
    return rows


COLUMNS = {
    "cases_testresult": RESULT_COLUMNS,
    "cases_case": CASE_COLUMNS,
    "workqueue_workitem": WORK_ITEM_COLUMNS,
    "tracing_exposure": EXPOSURE_COLUMNS,
    "tracing_followup": FOLLOW_UP_COLUMNS,
    "matching_matchreview": MATCH_REVIEW_COLUMNS,
    "ingest_importrun": IMPORT_RUN_COLUMNS,
}
ID_TABLES = ("people_person", "cases_testresult", "cases_case", "tracing_exposure")
SERIAL_TABLES = (
    *ID_TABLES,
    "workqueue_workitem",
    "tracing_followup",
    "matching_matchreview",
    "ingest_importrun",
)


def load_population(
    size: int,
    *,
    progress: Progress | None = None,
    today: date | None = None,
    processes: int | None = None,
    sealed: bool = True,
) -> Population:
    """Load `size` people and cases (see the module docstring) on top of what is there.

    `processes` > 1 seals people in worker processes (forked: they inherit the set-up key
    ring); the parent inserts one chunk while the workers seal the next. Inside a test's
    transaction pass 1 (forking needs the database connections closed). `sealed=False` puts
    random stand-ins where ciphertexts and blind indexes go (`_stand_in_rows`)."""
    started = time.perf_counter()
    today = today or timezone.localdate()
    now = timezone.now()
    policy = Policy.objects.filter(effective_from__lte=today).order_by("-effective_from").first()
    assert policy is not None, "no public-health policy in force: migrate first"
    ids = {table: _next_id(table) for table in ID_TABLES}
    # People, results and cases share one id per person; exposures are numbered on their own.
    first = max(ids["people_person"], ids["cases_testresult"], ids["cases_case"])
    exposure_first = ids["tracing_exposure"]
    processes = processes if processes is not None else min(os.cpu_count() or 1, 4)
    task = progress.add_task("population: load", total=size) if progress is not None else None
    jobs = _sealing_jobs(first, size, today)
    pool = None
    make_rows = _sealed_rows if sealed else _stand_in_rows
    if processes > 1 and sealed:
        connections.close_all()
        pool = multiprocessing.get_context("fork").Pool(processes)
        chunks: Iterator[Any] = pool.imap(make_rows, jobs)
    else:
        chunks = map(make_rows, jobs)
    due_today = 0
    finished = False
    try:
        done = 0
        for keys, people in chunks:
            chunk_first = people[0][0]
            others = _other_rows(
                range(chunk_first, chunk_first + len(people)),
                size=size,
                population_first=first,
                exposure_first=exposure_first,
                today=today,
                now=now,
                policy=policy,
            )
            due_today += sum(1 for row in others["tracing_followup"] if row[2] == today)
            with transaction.atomic():
                insert_rows("privacy_datakey", DATA_KEY_COLUMNS, keys)
                insert_rows("people_person", PERSON_COLUMNS, people)
                for table, rows in others.items():
                    insert_rows(table, COLUMNS[table], rows)
            done += len(people)
            if progress is not None and task is not None:
                progress.update(task, completed=done)
        finished = True
    finally:
        if pool is not None:
            # Stopped early (an error, Ctrl-C): drop the sealing still queued, do not wait for it.
            if finished:
                pool.close()
            else:
                pool.terminate()
            pool.join()
    _after_load()
    return Population(
        people=size,
        cases=size,
        exposures=2 * size,
        active_contacts=int(2 * size * ACTIVE_FRACTION),
        follow_ups_due_today=due_today,
        seconds=time.perf_counter() - started,
    )


def _after_load() -> None:
    """Move the id sequences past the explicit ids, and give the planner fresh statistics."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ID_TABLES:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT GREATEST(MAX(id), 1) FROM {table}))"
                )
            for table in (*SERIAL_TABLES, "privacy_datakey"):
                cursor.execute(f"ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")
