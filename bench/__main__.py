"""python -m bench: run every benchmark and write its figures into docs/benchmarks.md.

    python -m bench                 # on SQLite (a temporary file)
    DATABASE_URL=postgres://user@host:5432/anything python -m bench   # on that PostgreSQL server
    python -m bench --quick         # small sizes, one repeat, prints only (a smoke test)
    python -m bench --profile DIR   # also writes cProfile stats of the timed calls to DIR

The run sets up its own world before Django starts: a temporary data directory and key ring,
and its own database (never the one DATABASE_URL names, and never var/).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# CONFIDE_BENCH_DATABASE lets engineers sharing one server each bench in their own database.
BENCH_DATABASE = os.environ.get("CONFIDE_BENCH_DATABASE", "confide_bench")
# Each name is a module of this package with `run(progress, *, machine, quick, profile_dir)`
# returning {block name: markdown}; `--only NAME` runs one of them.
BENCHMARKS = ("messaging", "matching", "ingest", "load", "growth", "operations")
KEY_ENVIRONMENT = ("CONFIDE_MASTER_KEYS", "CONFIDE_ACTIVE_MASTER_KEY", "CONFIDE_INDEX_KEY")


def _postgres_execute(url: str, statement: str) -> None:
    """Run one statement on the server's maintenance database (to create or drop ours)."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    parsed = dj_database_url.parse(url)
    with psycopg.connect(
        dbname="postgres",
        user=parsed.get("USER") or None,
        password=parsed.get("PASSWORD") or None,
        host=parsed.get("HOST") or None,
        port=parsed.get("PORT") or None,
        autocommit=True,
    ) as admin:
        admin.execute(sql.SQL(statement).format(sql.Identifier(BENCH_DATABASE)))


@contextmanager
def bench_world(database_url: str) -> Iterator[None]:
    """A throwaway data directory, key ring and database for the length of the run."""
    scratch = Path(tempfile.mkdtemp(prefix="confide-bench-"))
    scheme = urlsplit(database_url).scheme
    postgres = scheme.startswith("postgres")
    if postgres:
        _postgres_execute(database_url, "DROP DATABASE IF EXISTS {}")
        _postgres_execute(database_url, "CREATE DATABASE {}")
        bench_url = urlunsplit(urlsplit(database_url)._replace(path=f"/{BENCH_DATABASE}"))
    elif scheme == "sqlite":
        bench_url = f"sqlite:///{scratch / 'bench.sqlite3'}"
    else:
        raise SystemExit(f"python -m bench: no benchmark database for {scheme!r} URLs")
    for name in KEY_ENVIRONMENT:
        os.environ.pop(name, None)
    os.environ.update(
        DATABASE_URL=bench_url,
        CONFIDE_DATA_DIR=str(scratch),
        CONFIDE_KEYS_FILE=str(scratch / "keys" / "keyring.json"),
        DJANGO_SETTINGS_MODULE="confide.settings",
    )
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from confide.privacy.keys import KeyRing, reset_master_keys_cache, write_key_ring

        settings.CONFIDE_KEYS_FILE = scratch / "keys" / "keyring.json"
        write_key_ring(settings.CONFIDE_KEYS_FILE, KeyRing.generate(demo=True))
        reset_master_keys_cache()
        call_command("migrate", verbosity=0, interactive=False)
        yield
    finally:
        from django.db import connections

        connections.close_all()
        if postgres:
            _postgres_execute(database_url, "DROP DATABASE IF EXISTS {}")
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; do not write docs")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of timed calls here")
    parser.add_argument("--no-write", action="store_true", help="print figures only")
    parser.add_argument("--only", choices=BENCHMARKS, action="append", help="run only these")
    parser.add_argument(
        "--max", type=int, help="growth: the largest number of cases (default 100000)"
    )
    args = parser.parse_args(argv)
    if args.max:
        os.environ["CONFIDE_BENCH_GROWTH_MAX"] = str(args.max)
    if args.quick or args.no_write:
        # Benches that save each size's figures as they go (growth) must not write either.
        os.environ["CONFIDE_BENCH_NO_WRITE"] = "1"
    database_url = os.environ.get("DATABASE_URL", "sqlite:///")

    with bench_world(database_url):
        import importlib

        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from bench.report import machine, write_blocks

        # Dispatch logs a line per run; the progress display is the bench's output.
        logging.getLogger("confide.messaging").setLevel(logging.WARNING)
        console = Console()
        here = machine()
        console.print(f"[bold]Benchmarks[/bold] — {here.describe()}")
        blocks: dict[str, str] = {}
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            for name in args.only or BENCHMARKS:
                module = importlib.import_module(f"bench.{name}")
                blocks.update(
                    module.run(progress, machine=here, quick=args.quick, profile_dir=args.profile)
                )
        for body in blocks.values():
            console.print(body, markup=False, highlight=False, soft_wrap=True)
        if args.quick or args.no_write:
            console.print("[yellow]Not written to docs/benchmarks.md (--quick / --no-write).")
        else:
            console.print(f"Wrote {write_blocks(blocks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
