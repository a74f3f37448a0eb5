"""`readable`: an ISO date or time from an export, as people write it (27 November 2026, 14:05)."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def readable(value: object) -> object:
    if not isinstance(value, str) or not value:
        return value
    try:
        if "T" in value:
            moment = timezone.localtime(datetime.fromisoformat(value))
            return f"{moment:%-d %B %Y, %H:%M}"
        return f"{date.fromisoformat(value):%-d %B %Y}"
    except ValueError:
        return value
