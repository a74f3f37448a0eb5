"""Proving who you are before anything personal: date of birth, then a one-time code.

Every answer is the same whether or not the date of birth matched, or we hold an address to
send a code to: the page never tells a guesser that they found somebody. Guessing is bounded
three ways: per link and per source address (the database rate limiter the API uses), and a
link locks for good after MAX_FAILED_VERIFICATIONS wrong answers (staff issue a new one).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from confide.api.ratelimit import address_key, count_request
from confide.messaging.models import Channel
from confide.messaging.services import Addressee, NoTemplate, current_template, queue_message
from confide.messaging.template_types import TemplateKind
from confide.people.selectors import active_safeguarding, read_person
from confide.privacy.blind_index import purpose_key
from confide.public.access import PublicVisitor
from confide.public.models import LinkKind, SelfServiceLink, VerificationCode

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
ATTEMPTS_PER_CODE = 3
MAX_FAILED_VERIFICATIONS = 5
# Requests per minute on the verification pages (the limiter's window).
REQUESTS_PER_LINK_PER_MINUTE = 10
REQUESTS_PER_ADDRESS_PER_MINUTE = 30


class TooManyRequests(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("too many requests")
        self.retry_after_seconds = retry_after_seconds


class VerificationFailed(Exception):
    """The date of birth or the code was not right (which of them is never said)."""


def check_address_rate(*, address: str) -> None:
    """Count one request to a verification page from this source address (any link, even an
    unknown one: scanning for links is throttled too)."""
    verdict = count_request(
        "public-" + address_key(address or "unknown"), limit=REQUESTS_PER_ADDRESS_PER_MINUTE
    )
    if not verdict.allowed:
        raise TooManyRequests(verdict.retry_after_seconds)


def check_link_rate(*, link: SelfServiceLink) -> None:
    """Count one answer (date of birth or code) given for this link, from anywhere."""
    verdict = count_request(f"public-link:{link.pk}", limit=REQUESTS_PER_LINK_PER_MINUTE)
    if not verdict.allowed:
        raise TooManyRequests(verdict.retry_after_seconds)


def code_hash(*, link_id: int, code: str) -> str:
    """Keyed, so a dump of the table does not give the codes away to a 10^6 brute force."""
    key = purpose_key("public-verification-code")
    return hmac.new(key, f"{link_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _record_failure(link: SelfServiceLink) -> None:
    SelfServiceLink.objects.filter(pk=link.pk).update(
        failed_verifications=F("failed_verifications") + 1
    )
    SelfServiceLink.objects.filter(
        pk=link.pk, failed_verifications__gte=MAX_FAILED_VERIFICATIONS, locked_at__isnull=True
    ).update(locked_at=timezone.now())


def send_code(
    *, link: SelfServiceLink, date_of_birth: date, now: datetime | None = None
) -> VerificationCode | None:
    """If the date of birth is theirs, send a new code to the email or phone on record (any
    earlier code stops working). Returns None otherwise: the caller says the same either way."""
    now = now or timezone.now()
    person = link.person
    details = read_person(person, by=None, purpose="check a self-service visitor's date of birth")
    # A contact named by a case usually has no date of birth on record: for them the code,
    # sent to the same address as their link, is the proof (docs/public.md, "Limits").
    if details.date_of_birth is not None and details.date_of_birth != date_of_birth:
        _record_failure(link)
        return None
    from confide.tracing.notifications import written_channel

    route = written_channel(details, active_safeguarding(person))
    if route is None or route[0] == Channel.LETTER:
        return None
    channel, recipient = route
    try:
        template = current_template(
            kind=TemplateKind.VERIFICATION_CODE, channel=channel, language=person.preferred_language
        )
    except NoTemplate:
        return None
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    with transaction.atomic():
        VerificationCode.objects.filter(link=link, used_at__isnull=True).update(expires_at=now)
        stored = VerificationCode.objects.create(
            link=link,
            code_hash=code_hash(link_id=link.pk, code=code),
            expires_at=now + CODE_LIFETIME,
        )
        queue_message(
            template=template,
            to=Addressee.for_person(person),
            recipient=recipient,
            personalisation={"code": code},
        )
    return stored


def check_code(*, link: SelfServiceLink, code: str, now: datetime | None = None) -> PublicVisitor:
    """The visitor, if `code` is the link's live code; raises VerificationFailed otherwise."""
    now = now or timezone.now()
    code = "".join(code.split())
    accepted = False
    with transaction.atomic():
        live = (
            VerificationCode.objects.select_for_update()
            .filter(link=link, used_at__isnull=True, expires_at__gt=now)
            .order_by("-pk")
            .first()
        )
        if live is not None and live.attempts < ATTEMPTS_PER_CODE:
            expected = code_hash(link_id=link.pk, code=code)
            if len(code) == CODE_DIGITS and hmac.compare_digest(live.code_hash, expected):
                live.used_at = now
                live.save(update_fields=["used_at"])
                SelfServiceLink.objects.filter(pk=link.pk).update(failed_verifications=0)
                accepted = True
            else:
                VerificationCode.objects.filter(pk=live.pk).update(attempts=F("attempts") + 1)
    if not accepted:
        # Committed as it stands (not rolled back with an exception): every guess counts.
        _record_failure(link)
        raise VerificationFailed
    return PublicVisitor(
        person_id=link.person_id,
        role="case" if link.kind == LinkKind.CASE else "contact",
        case_id=link.case_id,
        exposure_id=link.exposure_id,
        link_id=link.pk,
    )
