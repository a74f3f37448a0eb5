"""Passkeys through the real pages and middleware: who may add one, single-use challenges, and
answers that must be refused. A real authenticator's answers are tested in Chromium
(tests/browser/test_passkeys.py)."""

from __future__ import annotations

import json
from html import unescape

import pytest
from django.test import Client, RequestFactory
from django_otp import DEVICE_ID_SESSION_KEY
from webauthn import base64url_to_bytes

from confide.staff.models import AuthenticatorApp, Passkey, Role, StaffMember
from confide.staff.passkeys import REGISTRATION_CHALLENGE, SIGN_IN_CHALLENGE, relying_party
from confide.staff.services import create_staff_member
from confide.staff.tests.factories import StaffMemberFactory, confirmed_totp_device

pytestmark = pytest.mark.django_db

EMAIL = "grace.hopper@confide.example.org"
PASSWORD = "correct horse battery staple"
SECURITY = "/account/security/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def grace() -> StaffMember:
    member = create_staff_member(
        display_name="Grace Hopper", email=EMAIL, role=Role.CLINICIAN, password=PASSWORD
    )
    confirmed_totp_device(member)
    return member


def password_only(member: StaffMember) -> Client:
    """Signed in with the password, second factor still to give."""
    client = Client()
    response = client.post("/sign-in/", {"username": EMAIL, "password": PASSWORD})
    assert response.status_code == 302
    return client


def both_factors(member: StaffMember) -> Client:
    client = password_only(member)
    device = AuthenticatorApp.objects.get(user=member)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def passkey_for(member: StaffMember, credential_id: str = "Y3JlZGVudGlhbA") -> Passkey:
    return Passkey.objects.create(
        user=member, name="Laptop", credential_id=credential_id, public_key=b"\x00"
    )


def data_options(page: str, attribute: str) -> dict:
    start = page.index(f"{attribute} data-options=") + len(f"{attribute} data-options=") + 1
    return json.loads(unescape(page[start : page.index('"', start)]))


def test_adding_a_passkey_needs_the_second_factor_first(grace: StaffMember) -> None:
    response = password_only(grace).get(SECURITY)

    assert response.status_code == 302
    assert response["Location"] == "/sign-in/two-factor/"


def test_the_passkey_is_made_for_the_members_reference_with_a_challenge_kept_in_the_session(
    grace: StaffMember,
) -> None:
    client = both_factors(grace)

    page = client.get(SECURITY).content.decode()

    options = data_options(page, "data-passkey-register")
    assert base64url_to_bytes(options["user"]["id"]) == grace.reference.bytes
    assert options["user"]["name"] == EMAIL  # shown by the member's own authenticator only
    assert options["rp"]["id"] == "testserver"
    assert base64url_to_bytes(options["challenge"]) == base64url_to_bytes(
        client.session[REGISTRATION_CHALLENGE]
    )


def test_a_made_up_registration_is_refused_and_uses_up_the_challenge(grace: StaffMember) -> None:
    client = both_factors(grace)
    client.get(SECURITY)
    first_challenge = client.session[REGISTRATION_CHALLENGE]

    response = client.post(
        "/account/security/passkeys/",
        {"password": PASSWORD, "name": "Mine", "credential": '{"id": "x"}'},
    )

    assert response.status_code == 200
    assert "Your passkey could not be added" in response.content.decode()
    assert not Passkey.objects.exists()
    # The page shown again carries a new challenge; the first can never be answered.
    assert client.session[REGISTRATION_CHALLENGE] != first_challenge


def test_a_registration_without_a_challenge_is_refused(grace: StaffMember) -> None:
    client = both_factors(grace)  # never shown the security page

    response = client.post(
        "/account/security/passkeys/", {"password": PASSWORD, "name": "", "credential": "{}"}
    )

    assert "Your passkey could not be added" in response.content.decode()
    assert not Passkey.objects.exists()


def test_adding_a_passkey_asks_for_the_password_again_and_wrong_guesses_lock_the_account(
    grace: StaffMember, settings
) -> None:
    """A session left open must not be enough to add a way in; guessing the password there
    counts towards the same lockout as the sign-in page."""
    client = both_factors(grace)
    client.get(SECURITY)

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(
            "/account/security/passkeys/",
            {"password": "not the password", "name": "", "credential": '{"id": "x"}'},
        )
        assert response.status_code == 200
        assert "Your password is not right" in response.content.decode()
    assert not Passkey.objects.exists()

    client.post(
        "/account/security/passkeys/",
        {"password": "not the password", "name": "", "credential": '{"id": "x"}'},
    )
    locked = Client().post("/sign-in/", {"username": EMAIL, "password": PASSWORD})
    assert locked.status_code == 429
    assert not Passkey.objects.exists()


def test_the_security_code_page_offers_only_the_members_own_passkeys(grace: StaffMember) -> None:
    passkey_for(grace, "b3du")
    passkey_for(StaffMemberFactory.create(role=Role.CLINICIAN), "b3RoZXJz")
    client = password_only(grace)

    page = client.get("/sign-in/two-factor/").content.decode()

    options = data_options(page, "data-passkey-sign-in")
    assert [c["id"] for c in options["allowCredentials"]] == ["b3du"]
    assert SIGN_IN_CHALLENGE in client.session


def test_the_security_code_page_offers_no_passkey_to_a_member_without_one(
    grace: StaffMember,
) -> None:
    page = password_only(grace).get("/sign-in/two-factor/").content.decode()

    assert "Use a passkey" not in page


def test_a_passkey_answer_from_someone_elses_passkey_signs_nobody_in(grace: StaffMember) -> None:
    passkey_for(grace, "b3du")
    passkey_for(StaffMemberFactory.create(role=Role.CLINICIAN), "b3RoZXJz")
    client = password_only(grace)
    client.get("/sign-in/two-factor/")

    response = client.post(
        "/sign-in/passkey/", {"credential": json.dumps({"id": "b3RoZXJz", "rawId": "b3RoZXJz"})}
    )

    assert "This passkey is not one added to your account" in response.content.decode()
    assert SIGN_IN_CHALLENGE in client.session  # a new challenge for the page shown again
    assert client.get("/work/")["Location"] == "/sign-in/two-factor/"


def test_a_passkey_answer_without_a_challenge_is_refused(grace: StaffMember) -> None:
    passkey_for(grace, "b3du")
    client = password_only(grace)

    response = client.post(
        "/sign-in/passkey/", {"credential": json.dumps({"id": "b3du", "rawId": "b3du"})}
    )

    assert "Your passkey was not accepted" in response.content.decode()
    assert client.get("/work/")["Location"] == "/sign-in/two-factor/"


def test_a_member_removes_their_own_passkey_but_not_a_colleagues(grace: StaffMember) -> None:
    own = passkey_for(grace, "b3du")
    colleagues = passkey_for(StaffMemberFactory.create(role=Role.CLINICIAN), "b3RoZXJz")
    client = both_factors(grace)

    assert client.post(f"/account/security/passkeys/{colleagues.pk}/remove/").status_code == 404
    assert client.post(f"/account/security/passkeys/{own.pk}/remove/").status_code == 302
    assert list(Passkey.objects.all()) == [colleagues]


def test_production_takes_the_relying_party_from_settings(settings) -> None:
    settings.CONFIDE_WEBAUTHN_RP_ID = "confide.example.gov.uk"
    settings.CONFIDE_WEBAUTHN_ORIGINS = ["https://confide.example.gov.uk"]
    settings.ALLOWED_HOSTS = ["confide.example.gov.uk"]

    rp = relying_party(RequestFactory().get("/", HTTP_HOST="confide.example.gov.uk"))

    assert (rp.id, rp.origins) == ("confide.example.gov.uk", ["https://confide.example.gov.uk"])


def test_development_follows_the_requests_own_host_and_port() -> None:
    rp = relying_party(RequestFactory().get("/", HTTP_HOST="localhost:8000"))

    assert (rp.id, rp.origins) == ("localhost", ["http://localhost:8000"])
