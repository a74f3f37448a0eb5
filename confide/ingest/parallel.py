"""Reading, validating and preparing an import's rows in a helper process.

Most of an import's CPU goes on work that needs no database: parsing (FHIR above all),
validation (`rows.validate_result`) and matching's blind indexes and keyed encodings
(`linkage.prepare`), and sealing each person under a new data key in case they are new
(`linkage.prepare_and_seal`). With `workers`, a helper process does that for the next rows
while this process matches and writes the current batch, so an import uses a second core
(`confide import-results` uses one helper when a second core is there and free:
`default_workers`; `--workers 0` or `--workers 1` decide instead).

Order, row-level errors and bounded memory are kept: chunks go out in file order, at most
IN_FLIGHT chunks at a time, and their rows come back in the same order. A file that cannot be
read part-way (UnreadableFile) is raised after the rows before that point were handed on, as
when reading in this process.

The helper is forked, so it has this process's settings and key ring as they are (tests
override settings; the bench builds its own key ring). It never touches the database. Only
the command line offers it: a web server's threads and forking do not mix.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from functools import partial
from pathlib import Path
from typing import TypeVar

from confide.ingest import linkage
from confide.ingest.csv_format import UnreadableFile
from confide.ingest.fhir_format import ndjson_lines, read_ndjson_line
from confide.ingest.memory import collection_deferred
from confide.ingest.rows import RowError, SubmittedResult, ValidResult, validate_result
from confide.matching.services import PreparedDetails

# A row checked: the clean result or its errors, and (when a helper made it) its prepared
# details for matching; None means "prepare it when needed".
Checked = tuple[ValidResult | list[RowError], PreparedDetails | None]
U = TypeVar("U")

# Chunks handed to the helper: big enough that sending them costs little beside the work,
# small enough that IN_FLIGHT of them stay a few tens of megabytes. IN_FLIGHT lets the helper
# run a whole batch (services.BATCH_SIZE) ahead while this process writes the one before:
# with four, it stopped 4,000 CSV rows (about 2,500 FHIR results) ahead, and each batch began
# by waiting for the helper to finish the rest.
CSV_ROWS_PER_CHUNK = 1_000
FHIR_BYTES_PER_CHUNK = 1_000_000
IN_FLIGHT = 8


def default_workers() -> int:
    """Helper processes an import from the command line uses unless told: one when this
    process may run on a second core and the machine is not already busy (its load average
    over the last minute, this process included, below the cores less half of one), else
    none. A helper that has to share a core hands rows over for nothing: on the 2-core bench
    machine with other work running (load 3-5) an import with one took up to twice as long
    as one without, though it took about 40% of the CPU off the importing process (which an
    idle second core turns into time; docs/ingest.md)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available here: assume the cores are ours
        load = 0.0
    return 1 if cores >= 2 and load < cores - 0.5 else 0


def checked_here(results: Iterable[SubmittedResult], *, today: date) -> Iterator[Checked]:
    """Rows checked in this process, one by one (details are prepared later, only for the
    rows that turn out to be new)."""
    for submitted in results:
        yield validate_result(submitted, today=today), None


def check_and_prepare(results: Sequence[SubmittedResult], *, today: date) -> list[Checked]:
    """A chunk's rows validated, and the valid rows' details prepared for matching and
    sealed in case they are new people."""
    with collection_deferred():
        checked = [validate_result(submitted, today=today) for submitted in results]
        valid = [c.person for c in checked if isinstance(c, ValidResult)]
        prepared = iter(linkage.prepare_and_seal(valid))
        return [(c, next(prepared) if isinstance(c, ValidResult) else None) for c in checked]


def _check_fhir_lines(
    lines: list[tuple[int, bytes]], *, lab_code: str, today: date
) -> list[Checked]:
    with collection_deferred():
        results = [
            result
            for number, line in lines
            for result in read_ndjson_line(number, line, lab_code=lab_code)
        ]
        return check_and_prepare(results, today=today)


def checked_csv_in_helper(
    results: Iterable[SubmittedResult], *, today: date, workers: int
) -> Iterator[Checked]:
    iterator = iter(results)
    chunks = iter(lambda: list(itertools.islice(iterator, CSV_ROWS_PER_CHUNK)), [])
    return _in_helper(chunks, partial(check_and_prepare, today=today), workers=workers)


def checked_fhir_file_in_helper(
    path: Path, *, lab_code: str, today: date, workers: int
) -> Iterator[Checked] | None:
    """The rows of an NDJSON file, parsed and checked by the helper; None for a file of one
    JSON document (read whole, in this process)."""
    lines = ndjson_lines(path)
    if lines is None:
        return None
    work = partial(_check_fhir_lines, lab_code=lab_code, today=today)
    return _in_helper(_chunks_of_lines(lines), work, workers=workers)


def _chunks_of_lines(lines: Iterator[tuple[int, bytes]]) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    size = 0
    for number, line in lines:
        chunk.append((number, line))
        size += len(line)
        if size >= FHIR_BYTES_PER_CHUNK:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _in_helper(
    chunks: Iterator[U], work: Callable[[U], list[Checked]], *, workers: int
) -> Iterator[Checked]:
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    pending: deque[Future[list[Checked]]] = deque()
    unreadable: UnreadableFile | None = None
    read_all = False
    try:
        while True:
            while not read_all and len(pending) < IN_FLIGHT:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    read_all = True
                except UnreadableFile as exc:
                    unreadable, read_all = exc, True
                else:
                    pending.append(pool.submit(work, chunk))
            if not pending:
                break
            yield from pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if unreadable is not None:
        raise unreadable
