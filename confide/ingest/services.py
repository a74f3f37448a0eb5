"""Importing lab results: CSV files and FHIR Bundles, in batches, idempotent, row by row.

Every result is validated first (`rows.validate_result`); a batch of valid results is then
written in one transaction: people found or created, results, cases opened under the policy in
force, interviews queued, cases closed by a negative. A bad row is rejected with its reasons
and nothing of it is written; the good rows around it are imported. Re-sending a result (same
lab, same lab result id) changes nothing and counts as a duplicate.

Episodes (docs/ingest.md): a positive opens a case unless the person already has a case that
is not closed whose specimen date is within the policy's case isolation period of this one
(the same episode: the result is recorded, no second case). A negative taken on the day of,
or up to CONFIRMATORY_TEST_DAYS after, the specimen of a case nobody has started work on
(status new) closes that case and takes it out of the queue; otherwise it is just recorded.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from confide.bulk import insert_rows
from confide.cases.models import Case, CaseStatus, Policy, ResultOutcome, TestResult
from confide.cases.policy import policy_in_force
from confide.cases.services import NewCase, OpenedCase, open_cases, transition_case
from confide.ingest import linkage, parallel
from confide.ingest.csv_format import UnreadableFile, read_csv
from confide.ingest.fhir_format import read_bundle, read_fhir_file
from confide.ingest.memory import collection_deferred
from confide.ingest.models import ImportFormat, ImportRowError, ImportRun, ImportStatus
from confide.ingest.parallel import Checked
from confide.ingest.planner import GrowingTables
from confide.ingest.rows import RowError, ValidResult
from confide.matching.services import PreparedDetails
from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.services import NewPerson, insert_new_people
from confide.public.links import (
    NewCaseSubject,
    offer_self_service_to,
    self_service_window,
    subjects_of,
)
from confide.workqueue.services import cancel_case_interview, enqueue_case_interviews_by_id

__all__ = [
    "IngestReport",
    "ResultStatus",
    "RowError",
    "UnreadableFile",
    "ingest_csv",
    "ingest_fhir_bundle",
    "ingest_fhir_file",
    "result_status",
]

# Rows per transaction. New people's blind indexes and blocking keys land all over their
# indexes, so a commit writes out most of those index pages however few rows it holds: fewer,
# larger batches write each page fewer times (on SQLite, 5,000 rather than 1,000 took a third
# of the commit time of a 20,000-row import). Memory stays bounded by this.
BATCH_SIZE = 5_000
# The report a caller gets back lists at most this many errors (a million-row file could have a
# million); the run's error report (ImportRowError, the CSV download) holds every one.
MAX_REPORTED_ERRORS = 1_000
# A negative test this many days after a positive one's specimen, before anyone has worked the
# case, is the confirmatory test that rules the case out (England, 2021: a confirmatory PCR
# within 2 days of a positive lateral flow test). Placeholder until Policy carries it.
CONFIRMATORY_TEST_DAYS = 2
NEGATIVE_CLOSES_REASON = "negative confirmatory test"

Progress = Callable[[int], None]
# A person an import creates has not chosen a language yet.
NEW_PERSON_LANGUAGE = str(Person._meta.get_field("preferred_language").get_default())


@dataclass(frozen=True)
class IngestReport:
    run_reference: uuid.UUID
    received: int
    imported: int
    duplicates: int
    positives: int
    negatives: int
    cases_opened: int
    cases_closed: int
    errors: tuple[RowError, ...]
    # Rows rejected (a row can have several errors); `errors` stops at MAX_REPORTED_ERRORS.
    rejected: int = 0


@dataclass(frozen=True)
class ResultStatus:
    """What an API client may know about a result it sent: no personal data."""

    lab_code: str
    lab_result_id: str
    outcome: str
    specimen_date: date
    received_at: datetime
    case_reference: uuid.UUID | None
    case_status: str | None


@dataclass
class _Tally:
    received: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    positives: int = 0
    negatives: int = 0
    cases_opened: int = 0
    cases_closed: int = 0
    errors: list[RowError] = field(default_factory=list)

    COUNTS = (
        "received",
        "imported",
        "duplicates",
        "rejected",
        "positives",
        "negatives",
        "cases_opened",
        "cases_closed",
    )

    def add(self, other: _Tally) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        room = MAX_REPORTED_ERRORS - len(self.errors)
        self.errors.extend(other.errors[:room])


# -- entry points ---------------------------------------------------------------------------


def ingest_csv(
    stream: TextIO,
    *,
    source: str,
    progress: Progress | None = None,
    lab_code: str = "",
    workers: int = 0,
) -> IngestReport:
    """Import a CSV (docs/ingest.md) read as a stream. `lab_code` is the lab of every row
    when the file has no lab_code column. Raises UnreadableFile if the file as a whole
    cannot be read (rows imported before that point stay imported). With `workers`, rows are
    validated and prepared for matching in that many helper processes (`parallel`)."""
    run = _start_run(source=source, format=ImportFormat.CSV, lab_code=lab_code)
    today = timezone.localdate()
    results = read_csv(stream, default_lab_code=lab_code)
    checked = (
        parallel.checked_csv_in_helper(results, today=today, workers=workers)
        if workers
        else parallel.checked_here(results, today=today)
    )
    return _ingest(checked, run=run, progress=progress, today=today)


def ingest_fhir_bundle(bundle: Mapping[str, Any], *, lab_code: str, source: str) -> IngestReport:
    """Import one FHIR R4 Bundle (transaction, batch or collection) from `lab_code`."""
    run = _start_run(source=source, format=ImportFormat.FHIR, lab_code=lab_code)
    today = timezone.localdate()
    checked = parallel.checked_here(read_bundle(bundle, lab_code=lab_code), today=today)
    return _ingest(checked, run=run, progress=None, today=today)


def ingest_fhir_file(
    path: str | Path,
    *,
    lab_code: str,
    source: str,
    progress: Progress | None = None,
    workers: int = 0,
) -> IngestReport:
    """Import a file holding one Bundle (JSON) or one Bundle per line (NDJSON, streamed).
    With `workers`, the lines of an NDJSON file are parsed, validated and prepared for
    matching in that many helper processes (`parallel`)."""
    run = _start_run(source=source, format=ImportFormat.FHIR, lab_code=lab_code)
    today = timezone.localdate()
    checked = (
        parallel.checked_fhir_file_in_helper(
            Path(path), lab_code=lab_code, today=today, workers=workers
        )
        if workers
        else None
    )
    if checked is None:
        results = read_fhir_file(Path(path), lab_code=lab_code)
        checked = parallel.checked_here(results, today=today)
    return _ingest(checked, run=run, progress=progress, today=today)


def result_status(*, lab_code: str, lab_result_id: str) -> ResultStatus | None:
    result = (
        TestResult.objects.filter(lab_code=lab_code, lab_result_id=lab_result_id)
        .select_related("case")
        .first()
    )
    if result is None:
        return None
    case: Case | None = getattr(result, "case", None)
    return ResultStatus(
        lab_code=result.lab_code,
        lab_result_id=result.lab_result_id,
        outcome=result.outcome,
        specimen_date=result.specimen_date,
        received_at=result.received_at,
        case_reference=case.reference if case else None,
        case_status=case.status if case else None,
    )


# -- the run --------------------------------------------------------------------------------


def _start_run(*, source: str, format: str, lab_code: str) -> ImportRun:
    return ImportRun.objects.create(
        source=" ".join(source.split())[:100], format=format, lab_code=lab_code[:64]
    )


def _batches(items: Iterable[Checked]) -> Iterator[list[Checked]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, BATCH_SIZE)):
        yield batch


def _ingest(
    checked: Iterable[Checked], *, run: ImportRun, progress: Progress | None, today: date
) -> IngestReport:
    total = _Tally()
    batches = _batches(checked)
    statistics = GrowingTables()
    try:
        while True:
            # Reading a batch (and unpickling it from a helper) and writing it (`memory`).
            with collection_deferred():
                batch = next(batches, None)
                if batch is None:
                    break
                written = _ingest_batch(batch, run=run, today=today)
                total.add(written)
            statistics.wrote(written.imported)
            if progress is not None:
                progress(total.received)
    except UnreadableFile as exc:
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.FAILED, failure=str(exc)[:300], finished_at=timezone.now()
        )
        raise
    except BaseException:
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.FAILED,
            failure="The import stopped unexpectedly; rows before that point were imported.",
            finished_at=timezone.now(),
        )
        raise
    finally:
        if isinstance(checked, Generator):
            checked.close()  # stops a helper process now, not when the generator is collected
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.COMPLETED, finished_at=timezone.now()
    )
    return IngestReport(
        run_reference=run.reference,
        received=total.received,
        imported=total.imported,
        duplicates=total.duplicates,
        positives=total.positives,
        negatives=total.negatives,
        cases_opened=total.cases_opened,
        cases_closed=total.cases_closed,
        errors=tuple(total.errors),
        rejected=total.rejected,
    )


def _ingest_batch(batch: Sequence[Checked], *, run: ImportRun, today: date) -> _Tally:
    tally = _Tally(received=len(batch))
    valid: list[_Valid] = []
    seen: set[tuple[str, str]] = set()
    for checked, prepared in batch:
        if isinstance(checked, list):
            tally.rejected += 1
            tally.errors.extend(checked)
            continue
        key = (checked.lab_code, checked.lab_result_id)
        if key in seen:  # the same result twice in one file
            tally.duplicates += 1
            continue
        seen.add(key)
        valid.append((checked, prepared))
    try:
        written = _write_batch(valid, run=run, tally=tally, today=today)
    except IntegrityError:
        # Another import wrote some of these results since we looked: the whole batch was
        # rolled back, so look again (they are duplicates now) and write the rest.
        written = _write_batch(valid, run=run, tally=tally, today=today)
    return written


def _write_batch(valid: Sequence[_Valid], *, run: ImportRun, tally: _Tally, today: date) -> _Tally:
    out = _Tally(
        received=tally.received,
        rejected=tally.rejected,
        duplicates=tally.duplicates,
        errors=list(tally.errors),
    )
    with transaction.atomic():
        fresh_and_prepared = _not_yet_received(valid)
        fresh = [r for r, _ in fresh_and_prepared]
        out.duplicates += len(valid) - len(fresh)
        person_ids, known, new_people = _people_for(
            fresh_and_prepared, source=f"import {run.reference}"
        )
        # Rows, not model instances (confide.bulk); the result_once_per_lab constraint still
        # guards against another import writing the same result meanwhile.
        result_ids = insert_rows(
            TestResult,
            [
                {
                    "lab_code": r.lab_code,
                    "lab_result_id": r.lab_result_id,
                    "person_id": person_id,
                    "outcome": r.outcome,
                    "specimen_date": r.specimen_date,
                    "test_code": r.test_code,
                }
                for r, person_id in zip(fresh, person_ids, strict=True)
            ],
        )
        out.imported = len(result_ids)
        out.positives = sum(r.outcome == ResultOutcome.POSITIVE for r in fresh)
        out.negatives = sum(r.outcome == ResultOutcome.NEGATIVE for r in fresh)
        out.cases_opened, out.cases_closed = _apply_to_cases(
            fresh, person_ids, result_ids, known=known, new_people=new_people, today=today
        )
        ImportRowError.objects.bulk_create(
            [
                ImportRowError(run=run, row=e.row, field=e.field[:100], reason=e.reason[:300])
                for e in out.errors
            ],
            batch_size=500,
        )
        ImportRun.objects.filter(pk=run.pk).update(
            **{name: F(name) + getattr(out, name) for name in _Tally.COUNTS}
        )
    return out


def _not_yet_received(valid: Sequence[_Valid]) -> list[_Valid]:
    by_lab: dict[str, list[str]] = {}
    for r, _ in valid:
        by_lab.setdefault(r.lab_code, []).append(r.lab_result_id)
    known: set[tuple[str, str]] = set()
    # Hand-written: the ORM spent longer building a query of 5,000 ids than running it.
    table = connection.ops.quote_name(TestResult._meta.db_table)
    with connection.cursor() as cursor:
        for lab, ids in by_lab.items():
            for start in range(0, len(ids), _IDS_PER_QUERY):
                chunk = ids[start : start + _IDS_PER_QUERY]
                cursor.execute(
                    f"SELECT lab_result_id FROM {table} WHERE lab_code = %s "  # noqa: S608
                    f"AND lab_result_id IN ({', '.join(['%s'] * len(chunk))})",
                    [lab, *chunk],
                )
                known.update((lab, found) for (found,) in cursor.fetchall())
    return [(r, p) for r, p in valid if (r.lab_code, r.lab_result_id) not in known]


# Lab result ids per duplicate query: within SQLite's limit on bound parameters.
_IDS_PER_QUERY = 5_000


# A valid result and its details prepared for matching (None: not yet).
_Valid = tuple[ValidResult, PreparedDetails | None]


@dataclass(frozen=True)
class _NewPersonHeld:
    """A person this batch created: their data key and validated details, still in memory."""

    person: NewPerson
    details: PersonDetails


def _people_for(
    fresh: Sequence[_Valid], *, source: str
) -> tuple[list[int], set[int], dict[int, _NewPersonHeld]]:
    """The id of each result's Person: a sure match, else one new Person per distinct new
    person in the batch (sealed, saved and indexed for matching by `insert_new_people`, in
    the caller's transaction). Also returns the ids of the people who were already held, and
    the new people by id."""
    # Blind indexes and encodings, computed once for matching and for indexing new people
    # (by a helper process already, when one checked the rows).
    unprepared = [r.person for r, p in fresh if p is None]
    prepared_here = iter(linkage.prepare(unprepared) if unprepared else [])
    prepared = [p if p is not None else next(prepared_here) for _, p in fresh]
    links = linkage.find_people(prepared)
    new_slot: dict[object, int] = {}
    new_details: list[PreparedDetails] = []
    slots: list[int] = []
    for link, person_details in zip(links, prepared, strict=True):
        if link.person_id is not None:
            slots.append(-1)
            continue
        key = linkage.same_new_person_key(person_details.details)
        if key not in new_slot:
            new_slot[key] = len(new_details)
            new_details.append(person_details)
        slots.append(new_slot[key])
    # Details validate_result has already cleaned: sealed as they are.
    new_people = insert_new_people(new_details)
    people = [
        link.person_id if link.person_id is not None else new_people[slot].person_id
        for link, slot in zip(links, slots, strict=True)
    ]
    linkage.queue_likely_matches(
        [(person_id, link.likely) for link, person_id in zip(links, people, strict=True)],
        source=source,
    )
    held = {
        new.person_id: _NewPersonHeld(new, prepared_details.details)
        for new, prepared_details in zip(new_people, new_details, strict=True)
    }
    return people, {link.person_id for link in links if link.person_id is not None}, held


def _apply_to_cases(
    fresh: Sequence[ValidResult],
    person_ids: Sequence[int],
    result_ids: Sequence[int],
    *,
    known: set[int],
    new_people: Mapping[int, _NewPersonHeld],
    today: date,
) -> tuple[int, int]:
    """Open a case for each positive of a new episode and close cases a negative rules out.
    Only people already held (`known`) can have cases. Returns (opened, closed)."""
    open_by_person: dict[int, list[tuple[int, date, str]]] = {}
    if known:
        for case_id, person_id, specimen_date, status in (
            Case.objects.filter(person_id__in=known)
            .exclude(status=CaseStatus.CLOSED)
            .order_by("specimen_date", "pk")
            .values_list("pk", "person_id", "specimen_date", "status")
        ):
            open_by_person.setdefault(person_id, []).append((case_id, specimen_date, status))
    policies: dict[date, Policy] = {}
    to_open: list[NewCase] = []
    # Specimen dates of the episodes this batch opens, per person.
    opening: dict[int, list[date]] = {}
    to_close: list[int] = []
    for r, person_id, result_id in zip(fresh, person_ids, result_ids, strict=True):
        if r.outcome == ResultOutcome.POSITIVE:
            if r.specimen_date not in policies:
                policies[r.specimen_date] = policy_in_force(r.specimen_date)
            window = timedelta(days=policies[r.specimen_date].case_isolation_days)
            episodes = [day for _, day, _ in open_by_person.get(person_id, [])]
            episodes += opening.get(person_id, [])
            if any(abs(r.specimen_date - day) <= window for day in episodes):
                continue  # the same episode: recorded, no second case
            opening.setdefault(person_id, []).append(r.specimen_date)
            to_open.append(
                NewCase(
                    person_id=person_id,
                    specimen_date=r.specimen_date,
                    date_of_birth=r.person.date_of_birth,
                    symptom_onset=r.symptom_onset,
                    test_result_id=result_id,
                )
            )
        elif r.outcome == ResultOutcome.NEGATIVE:
            to_close.extend(
                case_id
                for case_id, day, status in open_by_person.get(person_id, [])
                if status == CaseStatus.NEW
                and case_id not in to_close
                and timedelta(0) <= r.specimen_date - day <= timedelta(days=CONFIRMATORY_TEST_DAYS)
            )
    opened = open_cases(to_open, today=today)
    held_until: dict[int, datetime] = {}
    if opened:
        # Each new case's own link to give their contacts online (confide.public); their
        # interviews are queued held back for the self-service window.
        now = timezone.now()
        offered = offer_self_service_to(
            subjects=_self_service_subjects(
                opened, [new.person_id for new in to_open], new_people=new_people
            ),
            now=now,
            hold_interviews=False,
        )
        held_until = dict.fromkeys(offered.case_ids, now + self_service_window())
    enqueue_case_interviews_by_id(
        case_tiers=[(case.id, new.tier) for case, new in zip(opened, to_open, strict=True)],
        reason="positive result",
        held_until=held_until,
    )
    closing = Case.objects.in_bulk(to_close)
    for case_id in to_close:
        case = closing[case_id]
        transition_case(case=case, to=CaseStatus.CLOSED, by=None, reason=NEGATIVE_CLOSES_REASON)
        cancel_case_interview(case=case)
    return len(opened), len(to_close)


def _self_service_subjects(
    cases: Sequence[OpenedCase],
    person_ids: Sequence[int],
    *,
    new_people: Mapping[int, _NewPersonHeld],
) -> list[NewCaseSubject]:
    """The new cases as `offer_self_service_to` takes them. A person this batch created is
    not read back: their validated details and unwrapped data key are still in memory."""
    held_before = [
        case.id
        for case, person_id in zip(cases, person_ids, strict=True)
        if person_id not in new_people
    ]
    read_back = {
        subject.case_id: subject
        for subject in subjects_of(
            list(Case.objects.filter(pk__in=held_before).select_related("person__data_key"))
            if held_before
            else []
        )
    }
    subjects = []
    for (case_id, case_reference), person_id in zip(cases, person_ids, strict=True):
        new = new_people.get(person_id)
        if new is None:
            subjects.append(read_back[case_id])
            continue
        subjects.append(
            NewCaseSubject(
                case_id=case_id,
                case_reference=case_reference,
                person_id=person_id,
                person_reference=new.person.reference,
                preferred_language=NEW_PERSON_LANGUAGE,
                key=new.person.key,
                details=new.details,
            )
        )
    return subjects
