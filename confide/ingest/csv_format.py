"""The CSV column set (docs/ingest.md), read as a stream: one row in memory at a time."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from confide.ingest.rows import PERSON_FIELDS, SubmittedResult

REQUIRED_COLUMNS = ("lab_result_id", "outcome", "specimen_date", "given_name")
OPTIONAL_COLUMNS = ("lab_code", "test_code", "symptom_onset", *PERSON_FIELDS)
COLUMNS = tuple(dict.fromkeys((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)))


class UnreadableFile(Exception):
    """The file as a whole cannot be read (not the fault of one row): nothing is imported."""


def read_csv(stream: TextIO, *, default_lab_code: str = "") -> Iterator[SubmittedResult]:
    """Results from a CSV with a header row; `row` is the line number (the header is line 1).

    A file without a lab_code column takes `default_lab_code` for every row.
    """
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableFile(
            "The file is empty: it needs a header row (see docs/ingest.md)."
        ) from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise UnreadableFile(_unreadable(exc)) from None
    names = [name.strip().lower().lstrip("\ufeff") for name in header]
    needed = list(REQUIRED_COLUMNS)
    if not default_lab_code:
        needed.append("lab_code")
    missing = [name for name in needed if name not in names]
    if missing:
        raise UnreadableFile(
            f"The header has no {', '.join(missing)} column: the columns are listed in "
            "docs/ingest.md"
            + (" (or give --lab for a file from one lab)." if "lab_code" in missing else ".")
        )
    positions = [(name, i) for i, name in enumerate(names) if name in COLUMNS]
    width = len(names)
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are not rows
            values = {name: cells[i] if i < len(cells) else "" for name, i in positions}
            if default_lab_code and not values.get("lab_code", "").strip():
                values["lab_code"] = default_lab_code
            problems: tuple[tuple[str, str], ...] = ()
            if len(cells) != width:
                problems = (("row", f"The row has {len(cells)} cells but the header has {width}"),)
            yield SubmittedResult(row=reader.line_num, values=values, problems=problems)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise UnreadableFile(_unreadable(exc, line=reader.line_num)) from None


def _unreadable(exc: Exception, *, line: int | None = None) -> str:
    where = f" at line {line}" if line else ""
    if isinstance(exc, UnicodeDecodeError):
        return f"The file is not UTF-8 text{where}: save it as CSV UTF-8 and send it again."
    return f"The file is not valid CSV{where}: check its quoting and send it again."
