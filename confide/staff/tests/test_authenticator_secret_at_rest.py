"""An authenticator app's shared secret is absent from a raw dump of the database: with it and
a password, anyone holding a copy could make the second factor too."""

from __future__ import annotations

import base64

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from confide.privacy.crypto import TamperedCiphertext
from confide.staff.models import AuthenticatorApp, Team
from confide.staff.tests.factories import StaffMemberFactory, totp_code
from tests.test_no_plaintext_at_rest import _leaks, _raw_database_bytes

CANARY = "CANARY-authenticator-team"


@pytest.mark.django_db(transaction=True)
def test_a_raw_dump_holds_no_authenticator_secret() -> None:
    member = StaffMemberFactory.create()
    device = AuthenticatorApp.new_for(member, name="Authenticator app", confirmed=True)
    Team.objects.create(name=CANARY)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    raw = _raw_database_bytes()

    assert CANARY.encode() in raw, "the raw reader did not see the database's contents"
    secret = device.bin_key
    assert len(secret) == 20
    shown_to_the_member = base64.b32encode(secret).decode().rstrip("=")
    assert _leaks(raw, {secret.hex(), secret.hex().upper(), shown_to_the_member}) == []
    assert secret not in raw


@pytest.mark.django_db
def test_the_sealed_secret_still_signs_in_and_a_code_is_used_once() -> None:
    member = StaffMemberFactory.create()
    device = AuthenticatorApp.new_for(member, name="Authenticator app", confirmed=True)
    code = totp_code(device)

    assert AuthenticatorApp.objects.get(pk=device.pk).verify_token(code)
    assert not AuthenticatorApp.objects.get(pk=device.pk).verify_token(code)


@pytest.mark.django_db
def test_a_secret_sealed_for_one_member_does_not_open_as_another_s() -> None:
    ada, ben = StaffMemberFactory.create(), StaffMemberFactory.create()
    device = AuthenticatorApp.new_for(ada, name="Authenticator app", confirmed=True)
    AuthenticatorApp.objects.filter(pk=device.pk).update(user=ben)

    moved = AuthenticatorApp.objects.get(pk=device.pk)
    with pytest.raises(TamperedCiphertext):
        moved.bin_key  # noqa: B018 — the property opens the secret


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_secrets_that_django_otp_stored_in_clear() -> None:
    member = StaffMemberFactory.create()
    executor = MigrationExecutor(connection)
    executor.migrate([("staff", "0004_authenticator_app")])
    before = [("staff", "0004_authenticator_app"), ("otp_totp", "0003_add_timestamps")]
    old_apps = executor.loader.project_state(before).apps
    plain_key = random_hex(20)
    old_apps.get_model("otp_totp", "TOTPDevice").objects.create(
        user_id=member.pk, name="Authenticator app", confirmed=True, key=plain_key, drift=1
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    device = AuthenticatorApp.objects.get(user=member)
    assert device.bin_key.hex() == plain_key
    assert (device.confirmed, device.drift) == (True, 1)
    assert not TOTPDevice.objects.exists()
