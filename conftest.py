"""Test-wide fixtures: a fresh key ring per run, and the strict-mode rule for skips."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

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
