"""System checks: production must not run on demo keys or without keys at all."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.security)
def check_production_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if not settings.PRODUCTION:
        return []
    from confide.privacy.keys import master_keys

    try:
        master_keys().epochs()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="confide.E001")]
    return []
