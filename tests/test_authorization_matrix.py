"""The authorisation matrix: every view and action, for every role, on a record assigned or not.

The rows are checked against the URL configuration itself, so a new view cannot ship open by
accident: a view that declares no rule (`@requires` or `@public`, confide/staff/decorators.py)
fails, and so does a URL whose name has no row in EXPECTED below. Each combination of URL,
method, role and record is its own test, sent through Django's test client with the real
middleware (sessions, django-otp, the staff-session middleware, django-axes).

Roles are the six staff roles, each with in-date data-protection training and signed in with
both factors, plus the people the rules must keep out: a clinician and a supervisor without
in-date training, a clinician who has given a password but no second factor yet, a clinician
whose account was deactivated while signed in (and who still holds a case), and an anonymous
visitor.

What "assigned" and "unassigned" mean for a role's record:

- a tracer (a role with a tier; trained or not, fully signed in or not): *assigned* is a case
  interview in their tier that they hold; *unassigned* is one a colleague of theirs holds —
  the record a mistake would show them;
- a role that never takes work (supervisor, DPO, administrator, anonymous): *assigned* is a
  case interview a tracer holds — what a supervisor acts on; *unassigned* is one waiting in the
  queue, held by nobody.

Allowed means 200, or a 302 that is not to the sign-in pages (for a public page any 302 is its
own business, like signing out). Denied means 404 for a view about one record (so the answer
does not confirm the record exists), 403 otherwise; a visitor who is not signed in, or whose
account has been deactivated, is sent to sign in, and one without a second factor to the
security-code page. POSTs carry an empty form: an allowed role gets the form back with errors
(200) or the action's redirect; what this file checks is who gets through, not what the action
does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import rules
from django.test import Client
from django.test.client import ClientHandler
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from confide.cases.tests.factories import CaseFactory
from confide.messaging.template_types import TemplateKind
from confide.staff.models import Role, StaffMember, Tier
from confide.staff.tests.factories import (
    StaffMemberFactory,
    confirmed_totp_device,
    record_in_date_training,
)
from confide.workqueue.services import claim_next, enqueue_case_interview

STAFF_BACKEND = "confide.staff.auth.EmailBlindIndexBackend"
SIGN_IN = "/sign-in/"
TWO_FACTOR = "/sign-in/two-factor/"

ASSIGNED = "assigned"
UNASSIGNED = "unassigned"
VARIANTS = (ASSIGNED, UNASSIGNED)

# --- roles -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleSpec:
    role: str | None  # None: not signed in
    trained: bool = True
    second_factor: bool = True
    # False: signed in, then the account was deactivated (a leaver whose session is still open).
    active: bool = True


CALL_HANDLER = "call_handler"
CLINICIAN = "clinician"
HEALTH_PROTECTION = "health_protection"
SUPERVISOR = "supervisor"
DPO = "dpo"
ADMINISTRATOR = "administrator"
SUPPORT_OFFICER = "support_officer"
UNTRAINED_CLINICIAN = "untrained_clinician"
UNTRAINED_SUPERVISOR = "untrained_supervisor"
NO_SECOND_FACTOR = "clinician_without_second_factor"
DEACTIVATED_CLINICIAN = "deactivated_clinician"
ANONYMOUS = "anonymous"

ROLES: dict[str, RoleSpec] = {
    CALL_HANDLER: RoleSpec(Role.CALL_HANDLER),
    CLINICIAN: RoleSpec(Role.CLINICIAN),
    HEALTH_PROTECTION: RoleSpec(Role.HEALTH_PROTECTION),
    SUPERVISOR: RoleSpec(Role.SUPERVISOR),
    DPO: RoleSpec(Role.DATA_PROTECTION_OFFICER),
    ADMINISTRATOR: RoleSpec(Role.ADMINISTRATOR),
    SUPPORT_OFFICER: RoleSpec(Role.SUPPORT_OFFICER),
    UNTRAINED_CLINICIAN: RoleSpec(Role.CLINICIAN, trained=False),
    UNTRAINED_SUPERVISOR: RoleSpec(Role.SUPERVISOR, trained=False),
    NO_SECOND_FACTOR: RoleSpec(Role.CLINICIAN, second_factor=False),
    DEACTIVATED_CLINICIAN: RoleSpec(Role.CLINICIAN, active=False),
    ANONYMOUS: RoleSpec(None),
}

EVERYONE = frozenset(ROLES)
# Signed in with both factors, whatever their role or training.
SIGNED_IN = EVERYONE - {ANONYMOUS, NO_SECOND_FACTOR, DEACTIVATED_CLINICIAN}
TRAINED_TRACERS = frozenset({CALL_HANDLER, CLINICIAN, HEALTH_PROTECTION})
TIER_ROLE = {
    Tier.LOCAL_HEALTH_PROTECTION: Role.HEALTH_PROTECTION,
    Tier.CLINICAL: Role.CLINICIAN,
    Tier.CALL_HANDLING: Role.CALL_HANDLER,
}


@dataclass
class Actor:
    """Who sends the request: a role's member (None when anonymous) and their client."""

    name: str
    member: StaffMember | None
    client: Client

    @property
    def holds_work(self) -> bool:
        """A tracer of some tier: the queues can give them work."""
        return self.member is not None and self.member.tier is not None

    @property
    def signed_in(self) -> bool:
        return self.member is not None and ROLES[self.name].active

    @property
    def verified(self) -> bool:
        return self.signed_in and ROLES[self.name].second_factor


def make_member(role: str, *, trained: bool = True) -> StaffMember:
    member = StaffMemberFactory.create(role=role)
    if trained:
        record_in_date_training(member)
    return member


# One request handler for every test's client: building the middleware chain makes WhiteNoise
# scan every static file, which would otherwise be most of this file's running time.
_HANDLER = ClientHandler(enforce_csrf_checks=False)


def make_client() -> Client:
    client = Client()
    client.handler = _HANDLER
    return client


def make_actor(name: str) -> Actor:
    spec = ROLES[name]
    client = make_client()
    if spec.role is None:
        return Actor(name, None, client)
    member = make_member(spec.role, trained=spec.trained)
    device = confirmed_totp_device(member)
    # As the sign-in pages leave the session: password first, then the second factor.
    client.force_login(member, backend=STAFF_BACKEND)
    if spec.second_factor:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    if not spec.active:
        StaffMember.objects.filter(pk=member.pk).update(is_active=False)
    return Actor(name, member, client)


# --- the records a request is about ------------------------------------------------------------

Build = Callable[[Actor, str], dict[str, Any]]


def no_record(actor: Actor, variant: str) -> dict[str, Any]:
    """A page about no record in particular."""
    return {}


def case_interview(actor: Actor, variant: str) -> dict[str, Any]:
    """A case interview in the actor's tier (tier 2 for roles without one), held by the actor
    or by someone else as the module docstring describes."""
    tier = actor.member.tier if actor.member is not None and actor.member.tier else Tier.CLINICAL
    today = timezone.localdate()
    case = CaseFactory.create(specimen_date=today - timedelta(days=2), today=today, tier=tier)
    item = enqueue_case_interview(case=case)
    holder: StaffMember | None
    if actor.holds_work:
        assert actor.member is not None
        holder = actor.member if variant == ASSIGNED else make_member(actor.member.role)
    else:
        holder = make_member(TIER_ROLE[Tier(tier)]) if variant == ASSIGNED else None
    if holder is not None:
        # The real claim, so the case is assigned too (the untrained clinician's as well: the
        # queue service checks the tier; the views check training).
        claimed = claim_next(tracer=holder)
        assert claimed is not None
        assert claimed.pk == item.pk
    return {"item_id": item.pk}


def alongside_case_interview(actor: Actor, variant: str) -> dict[str, Any]:
    """A page about no one record, with a case interview held or waiting as for `case_interview`
    (so "your work" shows the held item and the dashboard who holds what)."""
    case_interview(actor, variant)
    return {}


def follow_up_call(actor: Actor, variant: str) -> dict[str, Any]:
    """Today's daily follow-up call on a contact (tier 3), held by the actor if a call
    handler, else as for `case_interview`: by a call handler, or waiting."""
    from confide.people.tests.factories import PersonFactory
    from confide.tracing.follow_up import open_follow_ups
    from confide.tracing.models import Proximity
    from confide.tracing.services import record_exposure
    from confide.workqueue.models import WorkKind

    today = timezone.localdate()
    case = CaseFactory.create(specimen_date=today - timedelta(days=2), today=today)
    exposure = record_exposure(
        case=case,
        contact=PersonFactory.create(),
        last_contact=today - timedelta(days=2),
        proximity=Proximity.HOUSEHOLD,
        today=today - timedelta(days=1),
        notify=False,
    )
    open_follow_ups(today=today)
    holder: StaffMember | None
    if actor.member is not None and actor.member.role == Role.CALL_HANDLER:
        holder = actor.member if variant == ASSIGNED else make_member(Role.CALL_HANDLER)
    else:
        holder = make_member(Role.CALL_HANDLER) if variant == ASSIGNED else None
    item = exposure.work_items.get(kind=WorkKind.FOLLOW_UP)
    if holder is not None:
        claimed = claim_next(tracer=holder, kind=WorkKind.FOLLOW_UP)
        assert claimed is not None
        assert claimed.pk == item.pk
    return {"item_id": item.pk}


def likely_match(actor: Actor, variant: str) -> dict[str, Any]:
    """A likely match waiting in the review queue (the same for both variants: nobody holds a
    review)."""
    from confide.matching.services import LikelyMatch, queue_likely_matches
    from confide.people.tests.factories import PersonFactory

    held, new = PersonFactory.create(), PersonFactory.create()
    queue_likely_matches(new, [LikelyMatch(person_id=held.pk, score=0.7)], source="contact")
    return {"review_id": new_review_id(new)}


def new_review_id(person: Any) -> int:
    from confide.matching.models import MatchReview

    return MatchReview.objects.get(person=person).pk


def merge_in_force(actor: Actor, variant: str) -> dict[str, Any]:
    """A merge decided by another supervisor, not undone."""
    from confide.matching.models import MatchReview
    from confide.matching.services import merge_people

    review = MatchReview.objects.get(pk=likely_match(actor, variant)["review_id"])
    merge = merge_people(review=review, by=make_member(Role.SUPERVISOR), reason="same NHS record")
    return {"merge_id": merge.pk}


def passkey(actor: Actor, variant: str) -> dict[str, Any]:
    """A passkey of the actor's own (assigned), or of a colleague's (unassigned)."""
    from confide.staff.models import Passkey

    owner = actor.member if actor.member is not None and variant == ASSIGNED else None
    owner = owner or make_member(Role.CLINICIAN)
    key = Passkey.objects.create(
        user=owner, name="Laptop", credential_id=f"cred-{owner.pk}", public_key=b"\x00"
    )
    return {"passkey_id": key.pk}


def import_run(actor: Actor, variant: str) -> dict[str, Any]:
    """A finished import run with one rejected row (no personal data in either)."""
    from confide.ingest.models import ImportRowError, ImportRun

    run = ImportRun.objects.create(source="test", format="csv", status="completed", rejected=1)
    ImportRowError.objects.create(run=run, row=2, field="postcode", reason="Enter a postcode")
    return {"reference": run.reference}


def contact_notification_template(actor: Actor, variant: str) -> dict[str, Any]:
    """The English email contact notification (seeded with the reference data)."""
    return {"kind": TemplateKind.CONTACT_NOTIFICATION, "channel": "email", "language": "en"}


def breach_entry(actor: Actor, variant: str) -> dict[str, Any]:
    """An open entry in the breach register."""
    from confide.dpo.breaches import open_breach

    entry = open_breach(summary="Test breach", became_aware_at=timezone.now(), by=None)
    return {"reference": entry.reference}


def disclosure_request(actor: Actor, variant: str) -> dict[str, Any]:
    """A police request about a person we hold, recorded (and so refused) by a supervisor."""
    from confide.dpo.disclosures import record_disclosure_request
    from confide.people.selectors import person_details
    from confide.people.tests.factories import PersonFactory

    person = PersonFactory.create()
    request = record_disclosure_request(
        by=make_member(Role.SUPERVISOR),
        received_at=timezone.now(),
        requester_kind="police",
        organisation="A police force",
        requester_name="",
        requester_contact="",
        stated_purpose="Enquiries",
        requested_fields=["given_name"],
        nhs_number=person_details(person).nhs_number,
    )
    return {"reference": request.reference}


def subject_access_request(actor: Actor, variant: str) -> dict[str, Any]:
    """A subject access request the DPO recorded for a person with no case or contact record
    (so erasure is allowed: a POST that confirms would erase them)."""
    from confide.dpo.models import VerificationMethod
    from confide.dpo.subject_access import record_subject_access_request
    from confide.people.selectors import person_details
    from confide.people.tests.factories import PersonFactory

    person = PersonFactory.create()
    request = record_subject_access_request(
        by=make_member(Role.DATA_PROTECTION_OFFICER),
        verification=VerificationMethod.PHOTO_ID_IN_PERSON,
        nhs_number=person_details(person).nhs_number,
    )
    return {"reference": request.reference}


def support_application(actor: Actor, variant: str) -> dict[str, Any]:
    """A contact's application for a support payment, sent and waiting for review, with one
    evidence file (the same for both variants: nobody holds an application)."""
    from confide.support.tests.factories import isolating_contact, submitted_application

    application = submitted_application(isolating_contact())
    return {"reference": application.reference}


def support_evidence(actor: Actor, variant: str) -> dict[str, Any]:
    from confide.support.models import SupportApplication

    reference = support_application(actor, variant)["reference"]
    evidence = SupportApplication.objects.get(reference=reference).evidence.get()
    return {"reference": reference, "evidence_id": evidence.pk}


def practical_help_request(actor: Actor, variant: str) -> dict[str, Any]:
    """A contact's request for help with food, not yet handled."""
    from confide.support.periods import isolation_period_for
    from confide.support.services import request_practical_help
    from confide.support.tests.factories import contact_visitor, isolating_contact

    period = isolation_period_for(contact_visitor(isolating_contact()))
    assert period is not None
    request = request_practical_help(period=period, kind="food", details="Groceries")
    return {"reference": request.reference}


def unknown_link(actor: Actor, variant: str) -> dict[str, Any]:
    """A self-service link token that was never issued."""
    return {"token": "never-issued-token"}


def welsh(actor: Actor, variant: str) -> dict[str, Any]:
    return {"language": "cy"}


# --- the matrix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    methods: tuple[str, ...]
    build: Build
    allowed: dict[str, frozenset[str]]
    # What a refusal looks like to a signed-in member: 404 for a view about one record.
    denied_status: int = 403
    # Statuses that count as getting through (a machine endpoint answers 401 to everyone
    # without its bearer token: staff sessions must not change that).
    allowed_statuses: frozenset[int] = field(default_factory=lambda: frozenset({200, 302}))


def allow(roles: frozenset[str], variants: tuple[str, ...] = VARIANTS) -> dict[str, frozenset[str]]:
    return {role: frozenset(variants) for role in roles}


def public_row(*methods: str, allowed_statuses: frozenset[int] | None = None) -> Row:
    return Row(
        methods=methods,
        build=no_record,
        allowed=allow(EVERYONE),
        allowed_statuses=allowed_statuses or frozenset({200, 302}),
    )


def held_item_row(*methods: str) -> Row:
    """A view of one work item: only its holder, a trained tracer, gets through."""
    return Row(
        methods=methods,
        build=case_interview,
        allowed=allow(TRAINED_TRACERS, (ASSIGNED,)),
        denied_status=404,
    )


EXPECTED: dict[str, Row] = {
    # Public pages: no personal data, or authenticated some other way.
    "home": public_row("GET"),
    "healthz": public_row("GET"),
    # Ready only with a recent worker heartbeat; these tests run no worker.
    "readyz": public_row("GET", allowed_statuses=frozenset({200, 503})),
    # Prometheus, with a bearer token only; no token is configured here, so it does not exist.
    "metrics": public_row("GET", allowed_statuses=frozenset({404})),
    "staff:sign_in": public_row("GET", "POST"),
    "staff:two_factor": public_row("GET", "POST"),
    "staff:set_up_two_factor": public_row("GET", "POST"),
    "staff:sign_out": public_row("POST"),
    # The passkey answer after the password: the view itself checks who is signing in.
    "staff:passkey_sign_in": public_row("POST"),
    # Each member's own sign-in security (passkeys), once signed in with two factors.
    "staff:security": Row(("GET",), no_record, allow(SIGNED_IN)),
    "staff:add_passkey": Row(("POST",), no_record, allow(SIGNED_IN)),
    "staff:remove_passkey": Row(("POST",), passkey, allow(SIGNED_IN, (ASSIGNED,)), 404),
    "messaging:notify_callback": public_row("POST", allowed_statuses=frozenset({401})),
    # Published statistics: counts only, small numbers suppressed.
    "statistics:weekly": public_row("GET"),
    "statistics:weekly_csv": public_row("GET"),
    "statistics:weekly_json": public_row("GET"),
    # Every signed-in member's landing page (it says what they may do, no personal data).
    "workspace:your_work": Row(("GET",), alongside_case_interview, allow(SIGNED_IN)),
    "workspace:claim_next": Row(("POST",), alongside_case_interview, allow(TRAINED_TRACERS)),
    # One work item: its holder only.
    "workspace:item": held_item_row("GET"),
    "workspace:record_call": held_item_row("POST"),
    "workspace:add_contact": held_item_row("GET", "POST"),
    "workspace:add_place": held_item_row("GET", "POST"),
    "workspace:escalate": held_item_row("GET", "POST"),
    "workspace:safeguarding": held_item_row("GET", "POST"),
    "workspace:complete": held_item_row("POST"),
    "workspace:hand_back": held_item_row("POST"),
    "workspace:revoke_self_service": held_item_row("POST"),
    # Daily follow-up calls: trained call handlers; one call, its holder only.
    "workspace:follow_ups": Row(("GET",), no_record, allow(frozenset({CALL_HANDLER}))),
    "workspace:claim_next_follow_up": Row(("POST",), no_record, allow(frozenset({CALL_HANDLER}))),
    "workspace:follow_up": Row(
        ("GET", "POST"), follow_up_call, allow(frozenset({CALL_HANDLER}), (ASSIGNED,)), 404
    ),
    # Supervisors: counts for any supervisor; names, reassigning and search need training.
    "workspace:dashboard": Row(
        ("GET",), alongside_case_interview, allow(frozenset({SUPERVISOR, UNTRAINED_SUPERVISOR}))
    ),
    "workspace:reassign": Row(
        ("POST",),
        case_interview,
        # Only an item someone holds can be reassigned; a waiting one is not found.
        allow(frozenset({SUPERVISOR}), (ASSIGNED,)),
        denied_status=404,
    ),
    "workspace:search": Row(("GET", "POST"), no_record, allow(frozenset({SUPERVISOR}))),
    "workspace:line_list": Row(("GET",), no_record, allow(frozenset({SUPERVISOR}))),
    # Likely matches: both people's details side by side; trained supervisors decide.
    "matching:queue": Row(("GET",), no_record, allow(frozenset({SUPERVISOR}))),
    "matching:review": Row(
        ("GET", "POST"), likely_match, allow(frozenset({SUPERVISOR})), denied_status=404
    ),
    "matching:undo": Row(
        ("GET", "POST"), merge_in_force, allow(frozenset({SUPERVISOR})), denied_status=404
    ),
    # Message templates and staff broadcasts: trained supervisors.
    "messaging:templates": Row(("GET",), no_record, allow(frozenset({SUPERVISOR}))),
    "messaging:template_edit": Row(
        ("GET", "POST"), contact_notification_template, allow(frozenset({SUPERVISOR}))
    ),
    "messaging:broadcast": Row(("GET", "POST"), no_record, allow(frozenset({SUPERVISOR}))),
    # Import runs: counts and (row, field, reason) only, so any supervisor, like the dashboard.
    "ingest:runs": Row(("GET",), no_record, allow(frozenset({SUPERVISOR, UNTRAINED_SUPERVISOR}))),
    "ingest:errors": Row(
        ("GET",), import_run, allow(frozenset({SUPERVISOR, UNTRAINED_SUPERVISOR}))
    ),
    # The demo's sent mail shows recipients' addresses and first names: personal data, so
    # in-date training is needed like everywhere else.
    "demo:sent_mail": Row(("GET",), no_record, allow(frozenset({SUPERVISOR, ADMINISTRATOR}))),
    # The data protection office: the DPO only; requests from outside may be recorded (and so
    # refused) by anyone who may receive one; the second approver is another DPO or an admin.
    "dpo:office": Row(("GET",), no_record, allow(frozenset({DPO}))),
    "dpo:records_of_processing": Row(("GET",), no_record, allow(frozenset({DPO}))),
    "dpo:breach_new": Row(("GET", "POST"), no_record, allow(frozenset({DPO}))),
    "dpo:breach": Row(("GET", "POST"), breach_entry, allow(frozenset({DPO}))),
    "dpo:breach_close": Row(("POST",), breach_entry, allow(frozenset({DPO}))),
    "dpo:breach_report": Row(("GET",), breach_entry, allow(frozenset({DPO}))),
    "dpo:breach_report_json": Row(("GET",), breach_entry, allow(frozenset({DPO}))),
    "dpo:disclosure_new": Row(
        ("GET", "POST"), no_record, allow(frozenset({SUPERVISOR, DPO, ADMINISTRATOR}))
    ),
    "dpo:disclosure": Row(
        ("GET",), disclosure_request, allow(frozenset({SUPERVISOR, DPO, ADMINISTRATOR}))
    ),
    "dpo:disclosure_approve": Row(("POST",), disclosure_request, allow(frozenset({DPO}))),
    "dpo:disclosure_second_approval": Row(
        ("POST",), disclosure_request, allow(frozenset({DPO, ADMINISTRATOR}))
    ),
    "dpo:disclosure_produce": Row(("POST",), disclosure_request, allow(frozenset({DPO}))),
    # Subject access: the person's whole record, decrypted; rectification and erasure. DPO only.
    "dpo:subject_access_new": Row(("GET", "POST"), no_record, allow(frozenset({DPO}))),
    "dpo:subject_access": Row(("GET",), subject_access_request, allow(frozenset({DPO}))),
    "dpo:subject_access_json": Row(("GET",), subject_access_request, allow(frozenset({DPO}))),
    "dpo:subject_access_rectify": Row(
        ("GET", "POST"), subject_access_request, allow(frozenset({DPO}))
    ),
    "dpo:subject_access_erase": Row(("POST",), subject_access_request, allow(frozenset({DPO}))),
    # Self-service (confide.public): anyone may open a link; nothing personal before the date of
    # birth and one-time code. An unknown link answers 410 Gone to everyone, staff included.
    "public:start": Row(("GET", "POST"), unknown_link, allow(EVERYONE), 403, frozenset({410})),
    "public:code": Row(("GET", "POST"), unknown_link, allow(EVERYONE), 403, frozenset({410})),
    "public:language": Row(("GET",), welsh, allow(EVERYONE)),
    **{
        f"public:{name}": public_row(*methods)
        for name, methods in (
            ("case", ("GET",)),
            ("case_symptoms", ("GET", "POST")),
            ("case_add_place", ("GET", "POST")),
            ("case_add_contact", ("GET", "POST")),
            ("case_remove", ("POST",)),
            ("case_submit", ("POST",)),
            ("case_done", ("GET",)),
            ("contact", ("GET", "POST")),
            ("sign_out", ("POST",)),
            ("signed_out", ("GET",)),
        )
    },
    # Isolation support, the public side: a verified contact or case only (confide.public.access);
    # anyone else gets a page asking them to open the link in their message, nothing personal.
    **{
        f"support:{name}": public_row(*methods)
        for name, methods in (
            ("start", ("GET", "POST")),
            ("employment", ("GET", "POST")),
            ("work_from_home", ("GET", "POST")),
            ("benefit", ("GET", "POST")),
            ("not_eligible", ("GET",)),
            ("bank_details", ("GET", "POST")),
            ("evidence", ("GET", "POST")),
            ("remove_evidence", ("POST",)),
            ("check", ("GET", "POST")),
            ("sent", ("GET",)),
            ("help", ("GET", "POST")),
            ("help_sent", ("GET",)),
        )
    },
    # The local authority's side: trained support officers only.
    "support:queue": Row(("GET",), no_record, allow(frozenset({SUPPORT_OFFICER}))),
    "support:review": Row(
        ("GET", "POST"), support_application, allow(frozenset({SUPPORT_OFFICER})), 404
    ),
    "support:reveal_bank_details": Row(
        ("POST",), support_application, allow(frozenset({SUPPORT_OFFICER})), 404
    ),
    "support:evidence_file": Row(
        ("GET",), support_evidence, allow(frozenset({SUPPORT_OFFICER})), 404
    ),
    "support:payment": Row(
        ("GET", "POST"), support_application, allow(frozenset({SUPPORT_OFFICER})), 404
    ),
    "support:help_queue": Row(("GET",), no_record, allow(frozenset({SUPPORT_OFFICER}))),
    "support:help_request": Row(
        ("GET", "POST"), practical_help_request, allow(frozenset({SUPPORT_OFFICER})), 404
    ),
}


# --- the URL configuration ---------------------------------------------------------------------

# Views Django or a third-party app brings (none are mounted today); they have their own rules.
THIRD_PARTY_VIEW_MODULES = (
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django.views.static",
    "debug_toolbar",
)


# The API (django-ninja) takes bearer tokens, not staff sessions: each operation names its scope
# and confide/api/tests/test_scope_matrix.py checks every one of them, as this file checks views.
TOKEN_AUTHENTICATED_NAMESPACES = ("api",)


@dataclass(frozen=True)
class Route:
    name: str | None  # namespaced, as `reverse` takes it
    route: str
    callback: Callable[..., Any]

    def __str__(self) -> str:
        return f"/{self.route} ({self.name or 'no name'})"


def _third_party(module: str) -> bool:
    return module.startswith(THIRD_PARTY_VIEW_MODULES)


def walk(
    patterns: list[URLPattern | URLResolver], namespace: str = "", prefix: str = ""
) -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            urlconf = pattern.urlconf_name
            module = urlconf if isinstance(urlconf, str) else getattr(urlconf, "__name__", "")
            if _third_party(module) or pattern.app_name == "admin":
                continue
            if pattern.namespace in TOKEN_AUTHENTICATED_NAMESPACES:
                continue
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            yield from walk(pattern.url_patterns, inner, prefix + str(pattern.pattern))
        else:
            if _third_party(getattr(pattern.callback, "__module__", "") or ""):
                continue
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield Route(name, prefix + str(pattern.pattern), pattern.callback)


ROUTES = list(walk(get_resolver().url_patterns))


def test_the_url_configuration_is_walked() -> None:
    """Guards the walk itself: if it found nothing, every other check here would pass."""
    names = {route.name for route in ROUTES}
    assert {"home", "staff:sign_in", "workspace:item", "workspace:reassign"} <= names


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_every_view_declares_who_may_use_it(route: Route) -> None:
    permission = getattr(route.callback, "required_permission", None)
    public = getattr(route.callback, "is_public", False)
    assert permission or public, (
        f"/{route.route} ({route.name}) declares no rule: decorate its view with "
        "@requires('<permission>') (confide/staff/decorators.py, a permission from "
        "confide/staff/permissions.py) or, if anyone may see it, @public"
    )
    assert not (permission and public), f"/{route.route} is both @public and @requires"
    if permission:
        assert rules.perm_exists(permission), (
            f"/{route.route} requires {permission!r}, which confide/staff/permissions.py does "
            "not define: nobody could use it"
        )


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_every_view_has_a_row_in_the_matrix(route: Route) -> None:
    assert route.name, f"/{route.route} has no name: name it so the matrix can classify it"
    assert route.name in EXPECTED, (
        f"add a row for {route.name!r} (/{route.route}) to EXPECTED in {__file__}: which "
        "methods it takes, the record it is about and which roles may use it"
    )


def test_the_matrix_has_no_rows_for_views_that_are_gone() -> None:
    stale = set(EXPECTED) - {route.name for route in ROUTES}
    assert not stale, f"remove the rows for URLs that no longer exist: {sorted(stale)}"


def test_the_matrix_names_only_known_roles_and_records() -> None:
    for name, row in EXPECTED.items():
        assert set(row.allowed) <= EVERYONE, f"{name}: unknown role in {sorted(row.allowed)}"
        for role, variants in row.allowed.items():
            assert variants <= set(VARIANTS), f"{name}/{role}: unknown record {variants}"
        assert set(row.methods) <= {"GET", "POST"}, f"{name}: {row.methods}"


# --- the requests ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


PUBLIC_VIEWS = {route.name for route in ROUTES if getattr(route.callback, "is_public", False)}

CASES = [
    pytest.param(name, method, role, variant, id=f"{name}-{method}-{role}-{variant}")
    for name, row in EXPECTED.items()
    for method in row.methods
    for role in ROLES
    for variant in VARIANTS
]


def _location_path(response: Any) -> str:
    return str(response.get("Location", "")).split("?")[0]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "role", "variant"), CASES)
def test_access(name: str, method: str, role: str, variant: str) -> None:
    row = EXPECTED[name]
    actor = make_actor(role)
    url = reverse(name, kwargs=row.build(actor, variant))
    send = actor.client.get if method == "GET" else actor.client.post

    response = send(url, {})

    status = response.status_code
    where = f"{method} {url} as {role} ({variant} record) answered {status}"
    if status == 302:
        where += f" to {response['Location']}"
    to_sign_in = status == 302 and _location_path(response) in (SIGN_IN, TWO_FACTOR)
    if variant in row.allowed.get(role, frozenset()):
        assert status in row.allowed_statuses, f"{where}: should be let through"
        if name not in PUBLIC_VIEWS:
            assert not to_sign_in, f"{where}: should be let through, not asked to sign in"
    elif not actor.signed_in:
        assert status == 302, f"{where}: should be sent to sign in"
        assert response["Location"].startswith(f"{SIGN_IN}?next="), (
            f"{where}: should be sent to sign in"
        )
    elif not actor.verified:
        assert status == 302, f"{where}: should be asked for a security code"
        assert _location_path(response) == TWO_FACTOR, (
            f"{where}: should be asked for a security code"
        )
    else:
        assert status == row.denied_status, f"{where}: should be refused with {row.denied_status}"
