"""WebAuthn passkeys as a second factor, with py_webauthn (Duo Labs): it checks the challenge,
origin, relying party, signatures, attestation format and sign counts, so none of that is
hand-written here.

Registration: a member already signed in with two factors gets options carrying a fresh
challenge (kept in their session), their browser makes a credential, and `register_passkey`
verifies it against that challenge, which is then gone. Sign-in: after the password,
`sign_in_options` offers the member's own passkeys with a fresh challenge, and `verify_passkey`
checks the answer and that the sign count went up; the challenge is used once, pass or fail.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils import timezone
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from confide.staff.models import Passkey, StaffMember
from confide.staff.services import staff_contact_details

RP_NAME = "Confide"
REGISTRATION_CHALLENGE = "confide_passkey_registration_challenge"
SIGN_IN_CHALLENGE = "confide_passkey_sign_in_challenge"
KNOWN_TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)

Session = MutableMapping[str, Any]


class PasskeyRejected(Exception):
    """A passkey answer we cannot accept. The message is safe to show: it echoes nothing sent."""


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origins: list[str]


def relying_party(request: HttpRequest) -> RelyingParty:
    """From settings in production; otherwise the request's own host (checked against
    ALLOWED_HOSTS by `get_host`), so development and test servers on any port work."""
    host = request.get_host()
    domain, _ = split_domain_port(host)
    return RelyingParty(
        id=settings.CONFIDE_WEBAUTHN_RP_ID or domain,
        origins=settings.CONFIDE_WEBAUTHN_ORIGINS or [f"{request.scheme}://{host}"],
    )


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(passkey.credential_id),
        transports=[AuthenticatorTransport(t) for t in passkey.transports if t in KNOWN_TRANSPORTS],
    )


def registration_options(*, session: Session, rp: RelyingParty, member: StaffMember) -> str:
    """Options for the browser's `navigator.credentials.create`, as JSON."""
    contact = staff_contact_details(member)
    user_name = contact["email"] or str(member.reference)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        # The member's random reference, not anything personal, is what the passkey stores.
        user_id=member.reference.bytes,
        user_name=user_name,
        user_display_name=contact["display_name"] or user_name,
        exclude_credentials=[_descriptor(p) for p in Passkey.objects.filter(user=member)],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    session[REGISTRATION_CHALLENGE] = bytes_to_base64url(options.challenge)
    return options_to_json(options)


def _transports(credential_json: str) -> list[str]:
    try:
        sent = json.loads(credential_json).get("response", {}).get("transports", [])
    except (ValueError, AttributeError):
        return []
    return [t for t in sent if isinstance(t, str) and t in KNOWN_TRANSPORTS]


def register_passkey(
    *, session: Session, rp: RelyingParty, member: StaffMember, credential_json: str, name: str
) -> Passkey:
    challenge = session.pop(REGISTRATION_CHALLENGE, None)
    if not challenge:
        raise PasskeyRejected("Your passkey could not be added. Try again.")
    try:
        verified = verify_registration_response(
            credential=credential_json,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRejected("Your passkey could not be added. Try again.") from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    if Passkey.objects.filter(credential_id=credential_id).exists():
        raise PasskeyRejected("This passkey is already added to your account.")
    return Passkey.objects.create(
        user=member,
        name=" ".join(name.split())[:64] or "Passkey",
        confirmed=True,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=_transports(credential_json),
    )


def sign_in_options(*, session: Session, rp: RelyingParty, member: StaffMember) -> str | None:
    """Options for `navigator.credentials.get` offering the member's passkeys, as JSON; None
    if they have none."""
    passkeys = list(Passkey.objects.filter(user=member, confirmed=True).order_by("pk"))
    if not passkeys:
        return None
    options = generate_authentication_options(
        rp_id=rp.id,
        allow_credentials=[_descriptor(p) for p in passkeys],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    session[SIGN_IN_CHALLENGE] = bytes_to_base64url(options.challenge)
    return options_to_json(options)


def _credential_id(credential_json: str) -> str:
    try:
        sent = json.loads(credential_json)
        raw_id = sent.get("rawId") or sent.get("id")
    except (ValueError, AttributeError):
        raw_id = None
    if not isinstance(raw_id, str) or not raw_id:
        raise PasskeyRejected("Your passkey was not accepted. Try again.")
    return raw_id


def verify_passkey(
    *, session: Session, rp: RelyingParty, member: StaffMember, credential_json: str
) -> Passkey:
    """The member's passkey that answered this session's challenge. A sign count that did not
    go up (a cloned authenticator) is refused, as py_webauthn does."""
    challenge = session.pop(SIGN_IN_CHALLENGE, None)
    if not challenge:
        raise PasskeyRejected("Your passkey was not accepted. Try again.")
    credential_id = _credential_id(credential_json)
    with transaction.atomic():
        passkey = (
            Passkey.objects.select_for_update()
            .filter(user=member, confirmed=True, credential_id=credential_id)
            .first()
        )
        if passkey is None:
            raise PasskeyRejected("This passkey is not one added to your account.")
        try:
            verified = verify_authentication_response(
                credential=credential_json,
                expected_challenge=base64url_to_bytes(challenge),
                expected_rp_id=rp.id,
                expected_origin=rp.origins,
                credential_public_key=bytes(passkey.public_key),
                credential_current_sign_count=passkey.sign_count,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            raise PasskeyRejected("Your passkey was not accepted. Try again.") from exc
        passkey.sign_count = verified.new_sign_count
        passkey.last_used_at = timezone.now()
        passkey.save(update_fields=["sign_count", "last_used_at"])
    return passkey


def remove_passkey(*, member: StaffMember, passkey_id: int) -> bool:
    """Remove one of the member's own passkeys; False if they have no such passkey."""
    deleted, _ = Passkey.objects.filter(user=member, pk=passkey_id).delete()
    return bool(deleted)
