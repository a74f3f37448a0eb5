"""Results ingest benchmark (issue 5).

Ingest N positive results (default 100,000; `CONFIDE_BENCH_INGEST_RESULTS` sets N) through the
whole production path, once from a CSV file (`ingest_csv`) and once from an NDJSON file of FHIR
Bundles of 100 results each (`ingest_fhir_file`): validation, matching, people sealed under new
data keys, results, cases under the policy in force, interviews queued.

The floor, in the same run: a minimal script doing the same encryption for the same rows (a new
data key wrapped by the master key, the eight personal fields sealed, the five blind indexes)
and inserting the same rows (data key, person, result, case, work item) into tables with the
same columns and no indexes or constraints, with one executemany per table (SQLite) or COPY
(PostgreSQL). It parses nothing, validates nothing and matches nothing.

Targets: at least 0.5 of the floor's rate, and 100,000 results in under 10 s on SQLite.
Where the production time goes is measured by timing each stage of the same run.
"""

from __future__ import annotations

import collections
import cProfile
import functools
import hashlib
import hmac
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from rich.progress import Progress

from bench.report import Machine
from confide.cases.models import Case, TestResult
from confide.ingest import linkage, parallel
from confide.ingest import services as ingest
from confide.ingest.tests.samples import bundle, chunks, csv_file, ndjson_file, result_row
from confide.people.models import PERSON_SEALED_FIELDS, Person
from confide.privacy.blind_index import IndexKind, _sub_key
from confide.privacy.keys import NONCE_BYTES, master_keys
from confide.privacy.models import DataKey
from confide.workqueue.models import WorkItem

TARGET_FLOOR_RATIO = 0.5
TARGET_SECONDS_PER_100K = 10.0
FHIR_RESULTS_PER_BUNDLE = 100


def sizes(quick: bool) -> int:
    if quick:
        return 1_000
    return int(os.environ.get("CONFIDE_BENCH_INGEST_RESULTS", "100000"))


# -- the floor ----------------------------------------------------------------------------------

FLOOR_MODELS: tuple[type[Model], ...] = (DataKey, Person, TestResult, Case, WorkItem)


def scratch_name(model: type[Model]) -> str:
    return f"bench_floor_{model._meta.model_name}"


def create_scratch_tables() -> None:
    """Tables with each real table's columns and no keys, indexes or constraints."""
    with connection.cursor() as cursor:
        for model in FLOOR_MODELS:
            scratch = connection.ops.quote_name(scratch_name(model))
            source = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"DROP TABLE IF EXISTS {scratch}")
            # Identifiers are this module's names and Django's table names, quoted.
            cursor.execute(f"CREATE TABLE {scratch} AS SELECT * FROM {source} WHERE 1 = 0")  # noqa: S608


def columns(model: type[Model]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


def floor_rows(rows: list[dict[str, str]], first_id: int) -> dict[type[Model], list[tuple]]:
    """The same encryption as production for these rows, and the five rows of each."""
    provider = master_keys()
    index_keys = {kind: _sub_key(provider.index_key(), kind) for kind in IndexKind}
    version = provider.active_version
    master = AESGCM(provider.ring.master_keys[version])
    now = timezone.now()
    out: dict[type[Model], list[tuple]] = {model: [] for model in FLOOR_MODELS}
    cols = {model: columns(model) for model in FLOOR_MODELS}
    for offset, row in enumerate(rows):
        pk = first_id + offset
        raw = AESGCM.generate_key(bit_length=256)
        key_id = uuid.uuid4()
        wrap_nonce = secrets.token_bytes(NONCE_BYTES)
        wrapped = wrap_nonce + master.encrypt(wrap_nonce, raw, b"confide:data-key:" + key_id.bytes)
        aead = AESGCM(raw)
        person: dict[str, Any] = {
            "id": pk,
            "reference": uuid.uuid4().hex,
            "data_key_id": key_id.hex,
            "preferred_language": "en",
            "created_at": now,
            "updated_at": now,
        }
        for name in PERSON_SEALED_FIELDS:
            value = row[name]
            nonce = secrets.token_bytes(NONCE_BYTES)
            person[f"{name}_sealed"] = (
                b"\x01"
                + nonce
                + aead.encrypt(nonce, value.encode(), f"person.{name}".encode() + key_id.bytes)
            )
        for kind, value in (
            (IndexKind.NHS_NUMBER, row["nhs_number"]),
            (IndexKind.EMAIL, row["email"]),
            (IndexKind.PHONE, row["phone"]),
            (IndexKind.SURNAME_DOB, f"{row['family_name'].lower()}|{row['date_of_birth']}"),
            (IndexKind.POSTCODE, row["postcode"]),
        ):
            digest = hmac.new(index_keys[kind], value.encode(), hashlib.sha256).hexdigest()
            person[f"{kind.value}_index"] = digest[:32]
        specimen = date.fromisoformat(row["specimen_date"])
        values: dict[type[Model], dict[str, Any]] = {
            DataKey: {
                "id": key_id.hex,
                "wrapped_key": wrapped,
                "master_version": version,
                "created_at": now,
            },
            Person: person,
            TestResult: {
                "id": pk,
                "lab_code": "FLOOR",
                "lab_result_id": row["lab_result_id"],
                "person_id": pk,
                "outcome": "positive",
                "specimen_date": specimen,
                "test_code": row["test_code"],
                "received_at": now,
            },
            Case: {
                "id": pk,
                "reference": uuid.uuid4().hex,
                "person_id": pk,
                "test_result_id": pk,
                "policy_id": 1,
                "specimen_date": specimen,
                "infectious_from": specimen - timedelta(days=2),
                "infectious_until": specimen + timedelta(days=10),
                "status": "new",
                "tier": 2,
                "created_at": now,
                "updated_at": now,
            },
            WorkItem: {
                "id": pk,
                "kind": "case_interview",
                "tier": 2,
                "priority": 50,
                "state": "waiting",
                "case_id": pk,
                "reason": "positive result",
                "available_at": now,
                "attempts": 0,
                "created_at": now,
            },
        }
        for model in FLOOR_MODELS:
            named = values[model]
            out[model].append(tuple(named.get(c) for c in cols[model]))
    return out


def floor_insert(tables: dict[type[Model], list[tuple]]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for model, rows in tables.items():
            scratch = connection.ops.quote_name(scratch_name(model))
            names = ", ".join(connection.ops.quote_name(c) for c in columns(model))
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {scratch} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns(model)))
                cursor.executemany(f"INSERT INTO {scratch} ({names}) VALUES ({marks})", rows)  # noqa: S608


def time_floor(numbers: range) -> float:
    create_scratch_tables()
    """Seconds spent sealing and inserting (making the sample rows is not timed)."""
    rows = (result_row(n, lab_code="FLOOR") for n in numbers)
    next_id = 1
    seconds = 0.0
    for batch in chunks(rows, 1_000):
        started = time.perf_counter()
        floor_insert(floor_rows(batch, first_id=next_id))
        seconds += time.perf_counter() - started
        next_id += len(batch)
    return seconds


# -- production ---------------------------------------------------------------------------------


@contextmanager
def stage_timer() -> Iterator[dict[str, float]]:
    """Time the stages of an ingest by wrapping the functions it calls (module attributes
    looked up at call time), and put them back afterwards."""
    spent: dict[str, float] = collections.defaultdict(float)
    targets: list[tuple[Any, str, str]] = [
        (parallel, "validate_result", "validate rows (people and case rules)"),
        (ingest, "_not_yet_received", "look for duplicates"),
        (linkage, "prepare", "blind indexes and encodings (for matching and saving)"),
        (linkage, "find_people", "match people (confide.matching)"),
        (ingest, "insert_new_people", "seal, insert and index new people (insert_new_people)"),
        (linkage, "queue_likely_matches", "queue likely matches"),
        (ingest, "_apply_to_cases", "open cases, queue interviews (with the links below)"),
        (ingest, "offer_self_service_to", "of which: self-service links (confide.public)"),
    ]
    originals = []
    for module, name, label in targets:
        original = getattr(module, name)
        originals.append((module, name, original))

        def timed(*args: Any, _f: Callable[..., Any] = original, _l: str = label, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return _f(*args, **kw)
            finally:
                spent[_l] += time.perf_counter() - started

        setattr(module, name, functools.wraps(original)(timed))
    try:
        yield spent
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


@dataclass
class Measured:
    label: str
    count: int
    seconds: float
    stages: list[tuple[str, float]]
    report: ingest.IngestReport

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def run_ingest(
    label: str, call: Callable[[], ingest.IngestReport], count: int, profile: Path | None
) -> Measured:
    profiler = cProfile.Profile() if profile else None
    with stage_timer() as spent:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        report = call()
        if profiler:
            profiler.disable()
            profiler.dump_stats(str(profile))
        seconds = time.perf_counter() - started
    assert report.imported == count, (label, report)
    return Measured(label, count, seconds, sorted(spent.items(), key=lambda i: -i[1]), report)


@functools.cache
def workers() -> int:
    """Helper processes (`confide import-results --workers N`): CONFIDE_BENCH_INGEST_WORKERS,
    by default what the command would use when the run starts (one when there is a second
    core and the machine is not busy), the same for both runs and the report."""
    chosen = os.environ.get("CONFIDE_BENCH_INGEST_WORKERS", "")
    return int(chosen) if chosen else parallel.default_workers()


def bench(progress: Progress, count: int, profile_dir: Path | None) -> tuple[list[Measured], float]:
    task = progress.add_task("ingest: writing files", total=4)
    with TemporaryDirectory() as scratch:
        folder = Path(scratch)
        csv_path = csv_file(folder / "results.csv", (result_row(n) for n in range(count)))
        progress.advance(task)
        fhir_rows = (result_row(n, lab_code="FHIR") for n in range(count, 2 * count))
        ndjson = ndjson_file(
            folder / "results.ndjson",
            (bundle(b) for b in chunks(fhir_rows, FHIR_RESULTS_PER_BUNDLE)),
        )
        progress.advance(task)
        progress.update(task, description="ingest: floor")
        floor = time_floor(range(2 * count, 3 * count))
        progress.advance(task)
        progress.update(task, description="ingest: CSV and FHIR")

        helpers = workers()

        def from_csv() -> ingest.IngestReport:
            with csv_path.open(encoding="utf-8", newline="") as stream:
                return ingest.ingest_csv(stream, source="bench", workers=helpers)

        measured = [
            run_ingest(
                "CSV",
                from_csv,
                count,
                profile_dir / "ingest-csv.prof" if profile_dir else None,
            ),
            run_ingest(
                "FHIR (NDJSON of Bundles)",
                lambda: ingest.ingest_fhir_file(
                    ndjson, lab_code="FHIR", source="bench", workers=helpers
                ),
                count,
                profile_dir / "ingest-fhir.prof" if profile_dir else None,
            ),
        ]
        progress.advance(task)
    return measured, floor


def _met(met: bool) -> str:
    return "**yes**" if met else "**no**"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(machine: Machine, count: int, measured: list[Measured], floor: float) -> str:
    database = machine.database.split(" (")[0]
    floor_rate = count / floor
    rows = []
    for m in measured:
        ratio = m.rate / floor_rate
        per_100k = m.seconds / count * 100_000
        rows.append(
            [
                f"ingest {count:,} positive results, {m.label}",
                f"{m.seconds:.1f} s, {m.rate:,.0f} results/s",
                f"{floor:.1f} s, {floor_rate:,.0f} results/s",
                f"{ratio:.2f} of the floor",
                f"≥ {TARGET_FLOOR_RATIO} of the floor; 100,000 in < {TARGET_SECONDS_PER_100K:.0f} s"
                + (" (SQLite)" if database.startswith("SQLite") else ""),
                _met(ratio >= TARGET_FLOOR_RATIO)
                + f" / {per_100k:.0f} s per 100,000: "
                + _met(per_100k < TARGET_SECONDS_PER_100K),
            ]
        )
    summary = table(["measure", "Confide", "floor, same run", "ratio", "target", "met"], rows)
    breakdowns = []
    for m in measured:
        accounted = sum(s for name, s in m.stages if not name.startswith("of which"))
        stage_rows = [[name, f"{s:.1f}", f"{s / count * 1e6:,.0f}"] for name, s in m.stages]
        stage_rows.append(
            [
                "reading, parsing and the rest",
                f"{m.seconds - accounted:.1f}",
                f"{(m.seconds - accounted) / count * 1e6:,.0f}",
            ]
        )
        breakdowns.append(
            f"Where the {m.label} run's time went:\n\n"
            + table(["stage", "seconds", "µs per result"], stage_rows)
        )
    return (
        f"## Results ingest on {database}\n\n{machine.describe()}\n\n{summary}\n\n"
        f"One run each. The floor seals the same fields under a new data key per person, "
        f"computes the same five blind indexes and inserts the same five rows per result "
        f"(data key, person, result, case, work item) with one "
        f"{'COPY' if database.startswith('PostgreSQL') else 'executemany'} per table and batch "
        f"of 1,000 into tables without indexes or constraints; it parses, validates and "
        f"matches nothing. Production runs in batches of {ingest.BATCH_SIZE:,} rows, one "
        f"transaction each"
        + (
            f", with {workers()} helper process (`confide import-results`, as it runs by "
            "default on two or more cores not otherwise busy) parsing (FHIR), validating, "
            "preparing the next rows "
            "for matching and sealing their people: that work overlaps the writes, is not in "
            "the stages below (nor is sealing in insert_new_people), and waiting for it is in "
            "the rest."
            if workers()
            else "."
        )
        + "\n\n"
        + "\n\n".join(breakdowns)
    )


def run(
    progress: Progress, *, machine: Machine, quick: bool = False, profile_dir: Path | None = None
) -> dict[str, str]:
    count = sizes(quick)
    measured, floor = bench(progress, count, profile_dir)
    return {f"ingest:{connection.vendor}": markdown(machine, count, measured, floor)}
