"""confide totp EMAIL: the current security code of a demo account (never in production)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP

from confide.staff.auth import staff_email_index
from confide.staff.models import AuthenticatorApp


class Command(BaseCommand):
    help = "Print the current two-factor code of a demo staff account (development only)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Security codes are never printed in production.")
        device = (
            AuthenticatorApp.objects.filter(
                user__email_index=staff_email_index(options["email"]), confirmed=True
            )
            .order_by("pk")
            .first()
        )
        if device is None:
            raise CommandError(
                "No confirmed authenticator for that address; sign in to set one up."
            )
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
