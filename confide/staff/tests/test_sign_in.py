"""Staff sign-in through the real pages: email and password, then a security code (TOTP).

Everything runs through Django's test client with the real middleware stack: django-axes
lockouts, django-otp devices, the idle timeout and the session cookie.
"""

from __future__ import annotations

import base64
import runpy
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
import segno
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings as django_settings
from django.contrib.auth import get_user
from django.db import connection, models
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

import confide.settings as confide_settings
from confide.staff.models import AuthenticatorApp, Course, Role, StaffMember
from confide.staff.services import create_staff_member, record_training
from confide.staff.tests.factories import confirmed_totp_device, totp_code

pytestmark = pytest.mark.django_db

SIGN_IN = "/sign-in/"
TWO_FACTOR = "/sign-in/two-factor/"
SET_UP = "/sign-in/set-up-two-factor/"
SIGN_OUT = "/sign-out/"
WORK = "/work/"

EMAIL = "ada.lovelace@confide.example.org"
PASSWORD = "correct horse battery staple"
GENERIC_ERROR = "Enter a correct email address and password"
CONFIGURED_HASHERS = list(django_settings.PASSWORD_HASHERS)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Argon2 is deliberately slow; one test below proves sign-in with it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ada() -> StaffMember:
    """A clinician with in-date data-protection training, so staff pages would let her in."""
    member = create_staff_member(
        display_name="Ada Lovelace", email=EMAIL, role=Role.CLINICIAN, password=PASSWORD
    )
    record_training(
        staff_member=member,
        course=Course.DATA_PROTECTION,
        completed_on=timezone.localdate(),
        recorded_by=None,
    )
    return member


@pytest.fixture
def device(ada: StaffMember) -> AuthenticatorApp:
    return confirmed_totp_device(ada)


def post_password(client: Client, *, email: str = EMAIL, password: str = PASSWORD, **extra):
    return client.post(SIGN_IN, {"username": email, "password": password}, **extra)


def sign_in_fully(client: Client, device: AuthenticatorApp, *, next_page: str = "") -> str:
    """Both factors; returns where the second factor sends the staff member."""
    url = f"{SIGN_IN}?next={quote(next_page, safe='')}" if next_page else SIGN_IN
    client.post(url, {"username": EMAIL, "password": PASSWORD})
    response = client.post(TWO_FACTOR, {"code": totp_code(device)})
    assert response.status_code == 302
    return str(response["Location"])


def work_page_exists() -> bool:
    try:
        resolve(WORK)
    except Resolver404:
        return False
    return True


def wrong_code_for(device: AuthenticatorApp) -> str:
    """A well-formed code that no step near now (django-otp's tolerance) would accept."""
    near = {totp_code(device, steps_from_now=n) for n in range(-3, 4)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in near)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.parts.append(" ".join(data.split()))


def visible_text(html: bytes) -> str:
    """The words a person sees (attributes such as the CSRF token and typed values left out)."""
    parser = _VisibleText()
    parser.feed(html.decode())
    return "\n".join(parser.parts)


def raw_rows(model: type[models.Model]) -> bytes:
    """Every column of every row of a table, straight from the database cursor."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        rows = cursor.fetchall()
    return b"\x00".join(
        bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        for row in rows
        for value in row
        if value is not None
    )


# --- both factors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", [EMAIL, "Ada.Lovelace@Confide.Example.ORG", "  ADA.LOVELACE@CONFIDE.EXAMPLE.ORG "]
)
def test_a_staff_member_with_email_in_any_case_password_and_code_reaches_their_work(
    client, device, typed
):
    assert post_password(client, email=typed)["Location"] == TWO_FACTOR

    response = client.post(TWO_FACTOR, {"code": totp_code(device)})

    assert response.status_code == 302
    assert response["Location"] == WORK
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id


def test_after_both_factors_the_work_page_lets_the_staff_member_in(client, device):
    sign_in_fully(client, device)

    response = client.get(WORK)

    # The work page is being built alongside this test; until it exists, 404 is the answer.
    assert response.status_code == (200 if work_page_exists() else 404)


def test_sign_in_works_with_passwords_hashed_by_argon2(client, settings):
    settings.PASSWORD_HASHERS = CONFIGURED_HASHERS
    member = create_staff_member(
        display_name="Grace Hopper",
        email="grace.hopper@confide.example.org",
        role=Role.CALL_HANDLER,
        password=PASSWORD,
    )
    device = confirmed_totp_device(member)

    client.post(SIGN_IN, {"username": "Grace.Hopper@confide.example.org", "password": PASSWORD})
    response = client.post(TWO_FACTOR, {"code": totp_code(device)})

    assert member.password.startswith("argon2$")
    assert response["Location"] == WORK


@pytest.mark.parametrize(
    "page", [WORK, "/supervise/", "/supervise/search/", "/supervise/templates/", "/demo/sent-mail/"]
)
def test_without_the_second_factor_any_staff_page_redirects_to_the_security_code(
    client, device, page
):
    post_password(client)

    response = client.get(page)

    assert response.status_code == 302
    assert response["Location"] == TWO_FACTOR


def test_a_wrong_security_code_is_refused_with_a_clear_error(client, device):
    post_password(client)

    response = client.post(TWO_FACTOR, {"code": wrong_code_for(device)})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "code": ["The security code is not right or has expired; enter the code shown now"]
    }
    assert "The security code is not right or has expired" in response.content.decode()
    assert client.get(WORK)["Location"] == TWO_FACTOR


def test_a_security_code_that_is_not_six_digits_is_refused_with_its_format(client, device):
    post_password(client)

    response = client.post(TWO_FACTOR, {"code": "12ab"})

    assert response.context["form"].errors == {
        "code": ["Enter the security code as 6 digits, like 123456"]
    }


# --- first sign-in: setting up the authenticator app ----------------------------------------


def test_a_first_sign_in_without_an_authenticator_app_goes_to_set_up(client, ada):
    post_password(client)

    response = client.get(TWO_FACTOR)

    assert response.status_code == 302
    assert response["Location"] == SET_UP


def test_set_up_shows_a_qr_code_image_and_the_key_for_the_app(client, ada):
    post_password(client)

    response = client.get(SET_UP)

    device = AuthenticatorApp.objects.get(user=ada, confirmed=False)
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    assert response.status_code == 200
    assert response.context["qr_data_uri"].startswith("data:image/svg+xml;base64,")
    assert f'<img src="{response.context["qr_data_uri"]}"' in response.content.decode()
    assert response.context["key_groups"].replace(" ", "") == key
    assert response.context["key_groups"] in response.content.decode()


def test_set_up_shows_the_same_key_again_until_it_is_confirmed(client, ada):
    post_password(client)

    first = client.get(SET_UP).context["key_groups"]
    second = client.get(SET_UP).context["key_groups"]

    assert first == second
    assert AuthenticatorApp.objects.filter(user=ada).count() == 1


def qr_svg(uri: str) -> str:
    """A QR code drawn exactly as the set-up page draws it, so equal images mean equal contents."""
    return segno.make(uri, error="m").svg_inline(scale=4, title="QR code for your app")


def test_the_qr_code_names_the_staff_members_email_not_their_blind_index(client, ada):
    post_password(client)

    response = client.get(SET_UP)

    device = AuthenticatorApp.objects.get(user=ada, confirmed=False)
    shown = base64.b64decode(response.context["qr_data_uri"].split(",", 1)[1]).decode()
    # django-otp labels the device "Confide:<username>", quoted; our username is the blind index.
    assert f"Confide%3A{ada.email_index}?" in device.config_url
    assert shown != qr_svg(device.config_url), "the QR code labels the app with the blind index"
    assert shown == qr_svg(
        device.config_url.replace(f"%3A{ada.email_index}?", f"%3A{quote(EMAIL)}?")
    )


def test_a_correct_code_from_the_app_confirms_the_device_and_signs_in(client, ada):
    post_password(client)
    client.get(SET_UP)
    device = AuthenticatorApp.objects.get(user=ada, confirmed=False)

    response = client.post(SET_UP, {"code": totp_code(device)})

    assert response.status_code == 302
    assert response["Location"] == WORK
    assert AuthenticatorApp.objects.get(pk=device.pk).confirmed
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id


def test_a_wrong_code_during_set_up_leaves_the_device_unconfirmed(client, ada):
    post_password(client)
    client.get(SET_UP)
    device = AuthenticatorApp.objects.get(user=ada, confirmed=False)

    response = client.post(SET_UP, {"code": wrong_code_for(device)})

    assert response.context["form"].errors == {
        "code": ["The security code is not right; enter the code shown now"]
    }
    assert not AuthenticatorApp.objects.get(pk=device.pk).confirmed
    assert client.get(WORK)["Location"] == TWO_FACTOR


# --- no account enumeration ------------------------------------------------------------------


def test_a_wrong_password_shows_one_generic_error(client, ada):
    response = post_password(client, password="not the password")

    assert response.status_code == 200
    assert response.context["form"].errors == {"username": [GENERIC_ERROR]}
    assert not get_user(client).is_authenticated


def test_an_unknown_email_shows_the_same_page_as_a_wrong_password(ada):
    wrong_password = post_password(Client(), password="not the password")
    unknown_email = post_password(Client(), email="grace.hopper@confide.example.org")

    assert unknown_email.status_code == wrong_password.status_code == 200
    assert unknown_email.context["form"].errors == {"username": [GENERIC_ERROR]}
    assert visible_text(unknown_email.content) == visible_text(wrong_password.content)


# --- lockout (django-axes) -------------------------------------------------------------------


def fail_from_many_addresses(client: Client, times: int, *, email: str = EMAIL) -> None:
    """Wrong passwords, each from a different address, so no one address is locked out."""
    for n in range(times):
        post_password(client, email=email, password=f"guess {n}", REMOTE_ADDR=f"192.0.2.{n + 1}")


def test_four_failed_attempts_do_not_lock_the_account(client, ada):
    fail_from_many_addresses(client, 4)

    response = post_password(client, REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 302
    assert response["Location"] == TWO_FACTOR


def test_five_failed_attempts_lock_the_account_even_for_the_right_password(client, ada):
    fail_from_many_addresses(client, 5)

    response = post_password(
        client, email="ADA.Lovelace@confide.example.org", REMOTE_ADDR="203.0.113.9"
    )

    assert response.status_code == 429
    assert "staff/locked_out.html" in [t.name for t in response.templates]
    assert "Your account is locked" in response.content.decode()
    assert not get_user(client).is_authenticated


def test_five_failed_attempts_from_one_address_lock_that_address_for_every_account(client, ada):
    for n in range(5):
        post_password(
            client,
            email=f"guess{n}@confide.example.org",
            password="not the password",
            REMOTE_ADDR="198.51.100.7",
        )

    response = post_password(client, REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 429
    assert "staff/locked_out.html" in [t.name for t in response.templates]
    assert not get_user(client).is_authenticated


def test_axes_records_the_emails_blind_index_never_the_email(client, ada):
    fail_from_many_addresses(client, 5, email="Ada.Lovelace@Confide.Example.ORG")

    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {ada.email_index}
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        rows = raw_rows(model).lower()
        assert b"ada.lovelace" not in rows
        assert b"confide.example.org" not in rows


# --- session ---------------------------------------------------------------------------------


def idle_for(client: Client, minutes: float) -> None:
    session = client.session
    session["confide_last_seen"] = time.time() - minutes * 60
    session.save()


def test_a_session_idle_longer_than_the_timeout_is_signed_out(client, device, settings):
    sign_in_fully(client, device)
    idle_for(client, settings.CONFIDE_IDLE_TIMEOUT_MINUTES + 1)

    response = client.get(WORK)

    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?timed_out=1"
    assert not get_user(client).is_authenticated


def test_a_session_idle_for_less_than_the_timeout_stays_signed_in(client, device, settings):
    sign_in_fully(client, device)
    idle_for(client, settings.CONFIDE_IDLE_TIMEOUT_MINUTES - 1)

    client.get(WORK)

    assert get_user(client) == device.user


def test_the_sign_in_page_says_why_after_a_timeout(client):
    response = client.get("/sign-in/?timed_out=1")

    assert "You were signed out because you had not done anything for a while." in (
        response.content.decode()
    )


def test_signing_out_by_get_is_refused(client, device):
    sign_in_fully(client, device)

    response = client.get(SIGN_OUT)

    assert response.status_code == 405
    assert get_user(client).is_authenticated


def test_signing_out_ends_the_session(client, device):
    sign_in_fully(client, device)
    old_session_key = client.session.session_key

    response = client.post(SIGN_OUT)

    assert response["Location"] == "/sign-in/?signed_out=1"
    assert not get_user(client).is_authenticated
    assert not client.session.exists(old_session_key)


def test_a_next_page_on_another_site_is_refused_and_work_is_shown_instead(client, device):
    assert sign_in_fully(client, device, next_page="https://evil.example/") == WORK


@pytest.mark.parametrize("next_page", ["//evil.example/", "https://evil.example/work/"])
def test_a_next_page_that_leaves_the_site_in_any_form_is_refused(client, device, next_page):
    assert sign_in_fully(client, device, next_page=next_page) == WORK


def test_a_next_page_on_this_site_is_kept_through_the_second_factor(client, device):
    assert sign_in_fully(client, device, next_page="/cases/") == "/cases/"


def test_the_session_cookie_is_http_only_and_same_site_lax(client, ada):
    response = post_password(client)

    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_production_settings_make_the_session_cookie_secure(monkeypatch, tmp_path):
    monkeypatch.setenv("CONFIDE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    monkeypatch.setenv("ALLOWED_HOSTS", "confide.example.org")
    monkeypatch.setenv("CONFIDE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CONFIDE_DEBUG", raising=False)

    production = runpy.run_path(str(Path(confide_settings.__file__)))

    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["SESSION_COOKIE_SAMESITE"] == "Lax"
