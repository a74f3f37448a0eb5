"""Production refuses to run on demo keys."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from confide.privacy.checks import check_production_keys
from confide.privacy.keys import KeyRing, master_keys, reset_master_keys_cache, write_key_ring
from confide.privacy.services import init_epoch_store


@pytest.fixture
def production(settings):
    settings.PRODUCTION = True
    reset_master_keys_cache()
    yield settings
    reset_master_keys_cache()


@pytest.fixture
def real_key_ring(own_key_ring):
    write_key_ring(own_key_ring, KeyRing.generate(demo=False))
    init_epoch_store(demo=False)
    reset_master_keys_cache()
    return own_key_ring


def test_production_refuses_to_load_a_demo_key_ring(production):
    with pytest.raises(ImproperlyConfigured, match="Production refuses demo keys"):
        master_keys()


def test_the_production_keys_check_reports_a_demo_key_ring_as_an_error(production):
    messages = check_production_keys()

    assert len(messages) == 1
    assert messages[0].level == checks.ERROR
    assert messages[0].id == "confide.E001"
    assert "demo keys" in messages[0].msg


def test_the_production_keys_check_reports_a_missing_key_ring_as_an_error(production, tmp_path):
    production.CONFIDE_KEYS_FILE = tmp_path / "absent" / "keyring.json"

    messages = check_production_keys()

    assert [m.id for m in messages] == ["confide.E001"]
    assert "confide keys init" in messages[0].msg


def test_production_accepts_a_real_key_ring(real_key_ring, production):
    assert master_keys().ring.demo is False
    assert check_production_keys() == []


def test_development_accepts_a_demo_key_ring(settings):
    settings.PRODUCTION = False

    assert check_production_keys() == []


def test_production_reports_a_real_key_ring_without_an_epoch_store_as_an_error(
    own_key_ring, production
):
    write_key_ring(own_key_ring, KeyRing.generate(demo=False))
    reset_master_keys_cache()

    messages = check_production_keys()

    assert [m.id for m in messages] == ["confide.E001"]
    assert "No retention epoch store" in messages[0].msg
    assert not (own_key_ring.parent / "epochs.json").exists(), "a real ring never invents one"
