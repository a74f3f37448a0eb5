"""confide api-token create | rotate | revoke | list

    confide api-token create --client "Lab A" --scope results:submit --lab-code LABA
    confide api-token create --client "Trust B" --scope cases:read --tier 2 --days 30
    confide api-token rotate PREFIX [--overlap-minutes 60]
    confide api-token revoke PREFIX
    confide api-token list [--client NAME]

A token is printed once, when it is made; only its hash is kept.
"""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import IO, Any, cast

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from rich.console import Console
from rich.table import Table

from confide.api.models import ApiClient, ApiToken
from confide.api.scopes import ALL_SCOPES
from confide.api.services import (
    DEFAULT_ROTATION_OVERLAP,
    IssuedToken,
    issue_token,
    revoke_token,
    rotate_token,
    save_client,
)


def _problem(exc: ValidationError) -> CommandError:
    lines = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
    return CommandError("; ".join(lines))


class Command(BaseCommand):
    help = "Issue, rotate, revoke and list API tokens for labs and integrations."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a token (and the client, if new)")
        create.add_argument("--client", required=True, help="the lab's or integration's name")
        create.add_argument(
            "--scope",
            action="append",
            default=[],
            choices=sorted(ALL_SCOPES),
            help="repeat for each scope; sets the client's scopes",
        )
        create.add_argument(
            "--tier", action="append", type=int, default=[], help="tiers whose cases it may see"
        )
        create.add_argument("--lab-code", default="", help="for results:submit: the lab's code")
        create.add_argument("--days", type=int, default=90, help="lifetime (default 90 days)")
        rotate = sub.add_parser("rotate", help="replace a token; the old one lapses soon")
        rotate.add_argument("prefix")
        rotate.add_argument(
            "--overlap-minutes",
            type=int,
            default=int(DEFAULT_ROTATION_OVERLAP.total_seconds() // 60),
            help="how long the old token still works (0 revokes it now)",
        )
        rotate.add_argument("--days", type=int, default=90)
        revoke = sub.add_parser("revoke", help="stop a token working now")
        revoke.add_argument("prefix")
        listing = sub.add_parser("list", help="clients and their tokens (never the secrets)")
        listing.add_argument("--client", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.ending = ""
        console = Console(file=cast(IO[str], self.stdout), width=120)
        action = options["action"]
        try:
            if action == "create":
                self._create(console, options)
            elif action == "rotate":
                token = self._token(options["prefix"])
                issued = rotate_token(
                    token=token,
                    overlap=timedelta(minutes=options["overlap_minutes"]),
                    lifetime=timedelta(days=options["days"]),
                )
                console.print(
                    f"Old token {token.prefix} "
                    + (
                        "revoked."
                        if token.revoked_at
                        else f"works until {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}."
                    )
                )
                self._show(console, issued)
            elif action == "revoke":
                token = revoke_token(token=self._token(options["prefix"]))
                console.print(f"Token {token.prefix} revoked; it no longer works.")
            else:
                self._list(console, options["client"])
        except ValidationError as exc:
            raise _problem(exc) from exc

    def _token(self, prefix: str) -> ApiToken:
        token = ApiToken.objects.select_related("client").filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"No token {prefix!r}; `confide api-token list` shows them.")
        return token

    def _create(self, console: Console, options: dict[str, Any]) -> None:
        name = options["client"]
        existing = ApiClient.objects.filter(name=" ".join(name.split())).first()
        if options["scope"] or existing is None:
            client = save_client(
                name=name,
                scopes=options["scope"],
                entitled_tiers=options["tier"] or (existing.entitled_tiers if existing else []),
                lab_code=options["lab_code"] or (existing.lab_code if existing else ""),
            )
        else:
            client = existing
        issued = issue_token(client=client, lifetime=timedelta(days=options["days"]))
        console.print(
            f"Client [bold]{client.name}[/]: scopes {', '.join(client.scopes)}; "
            f"tiers {client.entitled_tiers or 'none'}; lab {client.lab_code or '-'}"
        )
        self._show(console, issued)

    def _show(self, console: Console, issued: IssuedToken) -> None:
        expires = timezone.localtime(issued.token.expires_at)
        console.print(f"New token (expires {expires:%Y-%m-%d}). It is shown only this once:")
        console.print(issued.secret_token, markup=False, highlight=False, soft_wrap=True)

    def _list(self, console: Console, client_name: str) -> None:
        tokens = ApiToken.objects.select_related("client").order_by("client__name", "created_at")
        if client_name:
            tokens = tokens.filter(client__name=client_name)
        now = timezone.now()
        table = Table("client", "scopes", "tiers", "token", "state", "expires", "last used")
        for token in tokens:
            if token.revoked_at:
                state = "revoked"
            elif token.expires_at <= now:
                state = "expired"
            elif token.replaced_by_id:
                state = "rotated (overlap)"
            else:
                state = "live"
            table.add_row(
                token.client.name,
                ", ".join(token.client.scopes),
                ", ".join(map(str, token.client.entitled_tiers)) or "-",
                token.prefix,
                state,
                f"{timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}",
                f"{timezone.localtime(token.last_used_at):%Y-%m-%d %H:%M}"
                if token.last_used_at
                else "never",
            )
        console.print(table)
