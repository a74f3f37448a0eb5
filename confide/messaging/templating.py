"""Message templates in GOV.UK Notify's syntax: ((placeholder)) and nothing else.

Written here rather than taken from a template engine on purpose: Django or Jinja templates can
follow attributes and call methods, so a template could reach data it was never given. Notify's
placeholder syntax has no expressions at all, keeps our templates portable to Notify, and is a
dozen lines to parse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from confide.messaging.template_types import TEMPLATE_TYPES

PLACEHOLDER = re.compile(r"\(\(([^()]*)\)\)")


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    body: str


def placeholders(text: str) -> set[str]:
    return {name.strip() for name in PLACEHOLDER.findall(text)}


def validate_template_text(*, kind: str, subject: str, body: str) -> None:
    """Refuse a template that uses any field its kind does not declare."""
    template_type = TEMPLATE_TYPES.get(kind)
    if template_type is None:
        raise ValidationError({"kind": ["Choose a kind of message"]})
    errors: dict[str, list[str]] = {}
    for field, text in (("subject", subject), ("body", body)):
        unknown = sorted(placeholders(text) - template_type.fields)
        if unknown:
            allowed = ", ".join(f"(({name}))" for name in sorted(template_type.fields))
            errors[field] = [
                f"This message cannot use {', '.join(f'(({n}))' for n in unknown)}. "
                f"It can use: {allowed}"
            ]
        if "\n" in subject or "\r" in subject:
            errors["subject"] = ["The subject must be one line"]
    if not body.strip():
        errors.setdefault("body", []).append("Enter the message")
    if errors:
        raise ValidationError(errors)


def render(*, kind: str, subject: str, body: str, values: Mapping[str, str]) -> RenderedMessage:
    """Fill placeholders with exactly the kind's declared values (no more, no fewer)."""
    declared = TEMPLATE_TYPES[kind].fields
    if set(values) != declared:
        raise ValueError(
            f"Personalisation for {kind} must be exactly {sorted(declared)}, got {sorted(values)}"
        )

    def fill(match: re.Match[str]) -> str:
        return values[match.group(1).strip()]

    one_line = {k: " ".join(v.split()) for k, v in values.items()}
    return RenderedMessage(
        subject=PLACEHOLDER.sub(lambda m: one_line[m.group(1).strip()], subject),
        body=PLACEHOLDER.sub(fill, body),
    )
