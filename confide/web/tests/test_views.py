from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_healthz_says_ok_and_is_never_cached(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_home_page_offers_sign_in(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert b'href="/sign-in/"' in response.content
    assert b'id="main-content"' in response.content


@pytest.mark.django_db
def test_pages_have_no_inline_scripts_or_styles(client: Client) -> None:
    """The Content-Security-Policy will refuse inline code, so the templates must not need it."""
    html = client.get("/").content.decode()

    assert "<style" not in html
    assert " style=" not in html
    for tag in html.split("<script")[1:]:
        assert " src=" in tag.split(">", 1)[0]


@pytest.mark.django_db
def test_unknown_page_uses_the_readable_not_found_page(client: Client) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_server_error_page_renders_without_a_request() -> None:
    from django.template import loader

    html = loader.get_template("500.html").render()

    assert "Sorry, there is a problem with the service" in html
