"""docs/benchmarks.md: the machine a figure was measured on, and one replaceable block per run.

Each benchmark writes a block fenced by `<!-- bench:NAME -->` ... `<!-- /bench:NAME -->`, where
NAME names the benchmark and the database (`messaging:postgresql`). A run replaces only the
blocks it measured, so SQLite and PostgreSQL figures can come from separate runs, and the
hand-written text outside the blocks is kept.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import django
from django.db import connection

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

HEADER = """# Benchmarks

Written by `make bench` (`python -m bench`), which runs every benchmark on the kind of database
`DATABASE_URL` names (SQLite when unset) and replaces that database's blocks below. Each
figure is compared with a baseline measured in the same run on the same machine, so read the
ratios rather than the absolute numbers.

    make bench                                                   # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x make bench    # PostgreSQL on that server

The run never touches `var/` or the database `DATABASE_URL` names: SQLite runs in a temporary
file, PostgreSQL in a database `confide_bench` created on the same server and dropped
afterwards, with a throwaway key ring.
"""


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    python: str
    django: str
    database: str
    measured_at: str
    load: str

    def describe(self) -> str:
        return (
            f"Measured {self.measured_at} on {self.cpu} ({self.cores} cores available; load "
            f"average {self.load} when the run started), Python {self.python}, "
            f"Django {self.django}, {self.database}."
        )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def database_version() -> str:
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    if connection.vendor == "postgresql":
        import psycopg

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = cursor.fetchone()[0].split()[0]
        return f"PostgreSQL {server} (psycopg {psycopg.__version__}, same host)"
    return connection.vendor


def cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def load_average() -> str:
    """Other work on the host slows both a figure and its baseline; the reader should know."""
    try:
        return " / ".join(f"{n:.1f}" for n in os.getloadavg()) + " (1 / 5 / 15 min)"
    except OSError:
        return "unknown"


def machine() -> Machine:
    return Machine(
        cpu=cpu_model(),
        cores=cores(),
        python=platform.python_version(),
        django=django.get_version(),
        database=database_version(),
        measured_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        load=load_average(),
    )


def _fence(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def replace_block(document: str, name: str, body: str) -> str:
    """The document with block `name` replaced by `body` (appended if it is not there yet)."""
    start, end = _fence(name)
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(document):
        return pattern.sub(lambda _m: block, document, count=1)
    return document.rstrip() + "\n\n" + block + "\n"


def write_blocks(blocks: dict[str, str], path: Path = DOC) -> Path:
    document = path.read_text(encoding="utf-8") if path.exists() else HEADER
    for name, body in blocks.items():
        document = replace_block(document, name, body)
    path.write_text(document.rstrip() + "\n", encoding="utf-8")
    return path
