"""Each authenticator app's secret moves from django-otp's TOTPDevice (plain hex) to
AuthenticatorApp, sealed under its member's data key; the plain rows are deleted. A session
verified with an old device must give a code again (its device id no longer exists)."""

from typing import Any

from django.db import migrations

from confide.privacy.crypto import unwrap_data_key

KEY_FIELD = "staff.authenticator_key"  # AUTHENTICATOR_KEY_FIELD when this was written
COPIED = (
    "name",
    "confirmed",
    "step",
    "t0",
    "digits",
    "tolerance",
    "drift",
    "last_t",
    "throttling_failure_timestamp",
    "throttling_failure_count",
    "created_at",
    "last_used_at",
)


def seal_keys(apps: Any, schema_editor: Any) -> None:
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    AuthenticatorApp = apps.get_model("staff", "AuthenticatorApp")
    for device in TOTPDevice.objects.select_related("user__data_key").order_by("pk").iterator():
        key = unwrap_data_key(device.user.data_key)
        AuthenticatorApp.objects.create(
            user_id=device.user_id,
            key_sealed=key.seal(KEY_FIELD, device.key),
            **{name: getattr(device, name) for name in COPIED},
        )
        device.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0004_authenticator_app"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(seal_keys, migrations.RunPython.noop)]
