"""Fixtures for tests that change master keys: they get a key ring of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from confide.privacy.keys import KeyRing, reset_master_keys_cache, write_key_ring


@pytest.fixture
def own_key_ring(tmp_path, settings, monkeypatch) -> Iterator[Path]:
    """A fresh demo key ring in tmp_path, so rotating it leaves the session's ring alone."""
    monkeypatch.delenv("CONFIDE_MASTER_KEYS", raising=False)
    path = tmp_path / "keys" / "keyring.json"
    write_key_ring(path, KeyRing.generate(demo=True))
    reset_master_keys_cache()
    settings.CONFIDE_KEYS_FILE = path
    yield path
    reset_master_keys_cache()
