"""The demo's "sent mail" page: what the file transports wrote, so a demo shows its messages.

Only outside production and only with the file transports; synthetic data only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email import message_from_string, policy
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from confide.staff.decorators import requires

SHOWN = 200


@dataclass(frozen=True)
class SentItem:
    channel: str
    to: str
    subject: str
    body: str
    reference: str


def _emails(folder: Path) -> list[SentItem]:
    items: list[SentItem] = []
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
        for raw in path.read_text(encoding="utf-8", errors="replace").split("-" * 79):
            if not raw.strip():
                continue
            email = message_from_string(raw.strip(), policy=policy.default)
            body = email.get_body(preferencelist=("plain",))
            items.append(
                SentItem(
                    channel="Email",
                    to=str(email["To"]),
                    subject=str(email["Subject"]),
                    body=body.get_content() if body else "",
                    reference=str(email["Message-ID"]),
                )
            )
            if len(items) >= SHOWN:
                return items
    return items


def _texts(path: Path) -> list[SentItem]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[-SHOWN:]
    return [
        SentItem("Text message", row["to"], "", row["body"], row["reference"])
        for row in map(json.loads, reversed(lines))
    ]


@requires("demo.view_sent_mail")
def sent_mail(request: HttpRequest) -> HttpResponse:
    if settings.PRODUCTION:
        raise Http404
    items = _emails(Path(settings.EMAIL_FILE_PATH)) + _texts(Path(settings.CONFIDE_SMS_FILE_PATH))
    return render(request, "demo/sent_mail.html", {"items": items})
