"""Every workspace view declares who may use it (the project-wide matrix test checks all)."""

from __future__ import annotations

from django.urls import URLPattern

from confide.workspace import urls


def test_every_workspace_view_declares_its_permission():
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        view = pattern.callback
        assert getattr(view, "required_permission", None) or getattr(view, "is_public", False), (
            f"{pattern.pattern} declares no permission"
        )
        assert not getattr(view, "is_public", False), f"{pattern.pattern} must not be public"
