"""Reads about import runs (for supervisors): counts and row errors, never submitted values."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from confide.ingest.models import ImportRowError, ImportRun
from confide.web.keyset import KeysetPage, keyset_page

RUNS_PAGE_SIZE = 50


def recent_runs(*, after: str | None = None, size: int = RUNS_PAGE_SIZE) -> KeysetPage[ImportRun]:
    """The latest runs first, a page at a time from the cursor `after` (keyset, through the
    index on started_at; `InvalidCursor` if it is not one)."""
    return keyset_page(
        ImportRun.objects.all(), order=("-started_at", "-pk"), size=size, after=after
    )


def run_by_reference(reference: str) -> ImportRun | None:
    return ImportRun.objects.filter(reference=reference).first()


def error_report_lines(run: ImportRun) -> Iterator[str]:
    """The run's error report as CSV lines (row, field, reason), streamed from the database."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(["row", "field", "reason"])
    yield flush()
    errors = ImportRowError.objects.filter(run=run).order_by("row", "pk")
    for row, field, reason in errors.values_list("row", "field", "reason").iterator(2_000):
        writer.writerow([row, field, reason])
        yield flush()
