"""Test-wide fixtures: a fresh key ring per run, and the strict-mode rule for skips."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pytest

STRICT = os.environ.get("CONFIDE_STRICT") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose real component is missing here — but fail instead under CONFIDE_STRICT=1,
    where CI must prove the behaviour on real PostgreSQL and a real browser."""
    if STRICT:
        pytest.fail(f"{reason} — CONFIDE_STRICT=1 turns this skip into a failure", pytrace=False)
    pytest.skip(f"{reason} (set CONFIDE_STRICT=1 to make this a failure)")


@pytest.fixture(scope="session", autouse=True)
def test_key_ring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tests never touch the developer's own keys: each run gets a new demo key ring."""
    from django.conf import settings

    from confide.privacy.keys import KeyRing, reset_master_keys_cache, write_key_ring

    path = tmp_path_factory.mktemp("keys") / "keyring.json"
    write_key_ring(path, KeyRing.generate(demo=True))
    original = settings.CONFIDE_KEYS_FILE
    settings.CONFIDE_KEYS_FILE = path
    # Retention epochs beside the test ring, never a developer's own CONFIDE_EPOCH_KEYS_FILE.
    original_epochs = settings.CONFIDE_EPOCH_KEYS_FILE
    settings.CONFIDE_EPOCH_KEYS_FILE = ""
    reset_master_keys_cache()
    yield path
    settings.CONFIDE_KEYS_FILE = original
    settings.CONFIDE_EPOCH_KEYS_FILE = original_epochs
    reset_master_keys_cache()


@pytest.fixture(scope="session", autouse=True)
def _postgresql_flush_by_delete() -> Iterator[None]:
    """A transactional test (live server, worker processes) ends with a flush of every table.
    On PostgreSQL, Django's flush is one TRUNCATE of all 66 tables, which makes a new file for
    each table and index: 2.3 s a test here, whatever the tables hold. The few rows a test
    leaves are gone in 0.05 s by DELETE, in the same single transaction; foreign keys are
    deferred to its commit, so the order of the tables does not matter. Tests only: a
    deployment never flushes."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        yield
        return
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(
        self: DatabaseOperations,
        style: Any,
        tables: Sequence[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        if reset_sequences or allow_cascade:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        # Table names come from Django's introspection, quoted.
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables]  # noqa: S608

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


# Reference data that data migrations seed (policies, default templates). A transactional test
# (live server, raw dumps) ends with a flush that empties every table, so each database test
# puts them back first if they are missing.
REFERENCE_DATA_MIGRATIONS = (
    "confide.cases.migrations.0003_england_2020_policies",
    "confide.messaging.migrations.0003_default_templates",
    "confide.messaging.migrations.0004_book_a_test_templates",
    "confide.public.migrations.0002_verification_code_templates",
)


def seed_reference_data() -> None:
    from django.apps import apps

    for module in REFERENCE_DATA_MIGRATIONS:
        importlib.import_module(module).seed(apps, None)


def _uses_database(request: pytest.FixtureRequest) -> bool:
    if request.node.get_closest_marker("django_db") is not None:
        return True
    return bool({"db", "transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _reference_data(request: pytest.FixtureRequest) -> None:
    if not _uses_database(request):
        return
    from confide.cases.models import Policy

    if not Policy.objects.exists():
        seed_reference_data()


# --- scheduling the suite ------------------------------------------------------------------------

DB_INDEPENDENT = "db_independent"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow end-to-end tests first (a stable sort, after pytest-django's own ordering), so
    with `-n 2` they start early on both workers instead of one worker finishing a minutes-long
    test alone at the end. A transactional test running early is safe: each database test puts
    the reference data back (`_reference_data`)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_report_header(config: pytest.Config) -> str | None:
    if f"not {DB_INDEPENDENT}" in str(config.getoption("markexpr", "")):
        return (
            f"{DB_INDEPENDENT} tests are deselected in this pass: they do not depend on the "
            "database kind, and .ci/run proves them in its SQLite pass"
        )
    return None
