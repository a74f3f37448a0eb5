"""The public pages: thin views over confide.public's services, in English or Welsh.

Every view is `@public` (no staff sign-in; the authorisation matrix reads it). Anything
personal is behind `verified_visitor`: a link, the person's date of birth and a one-time code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from confide.cases.services import validate_case_dates
from confide.public import answers as case_answers
from confide.public.access import (
    PublicVisitor,
    forget_visitor,
    remember_verified_visitor,
    verified_visitor,
)
from confide.public.forms import (
    PLACE_KINDS,
    PROXIMITY_CHOICES,
    CheckInForm,
    CodeForm,
    ContactForm,
    DateOfBirthForm,
    PlaceForm,
    SymptomsForm,
)
from confide.public.links import LinkUnusable, check_usable, usable_link
from confide.public.models import LinkKind, SelfServiceLink
from confide.public.selectors import contact_page
from confide.public.verification import (
    TooManyRequests,
    VerificationFailed,
    check_address_rate,
    check_code,
    check_link_rate,
    send_code,
)
from confide.staff.decorators import public
from confide.tracing.follow_up import FollowUpClosed, record_self_check_in
from confide.tracing.models import Exposure

LANGUAGES = {"en", "cy"}

View = Callable[..., HttpResponse]


def public_page(view: View) -> View:
    """A public page: in the visitor's chosen language (cookie), never cached (it may be
    personal), and declared public for the staff middleware and the authorisation matrix."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "en")
        with translation.override(language if language in LANGUAGES else "en"):
            request.LANGUAGE_CODE = translation.get_language()
            response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    return public(wrapped)


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(request, f"public/{template}", context, status=status)


def _address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def _unusable(request: HttpRequest) -> HttpResponse:
    """The same page for an unknown, expired, spent, revoked or locked link: nothing personal,
    and nothing that says which it is."""
    return _render(request, "link_unusable.html", {}, status=410)


def _too_many(request: HttpRequest, exc: TooManyRequests) -> HttpResponse:
    response = _render(request, "too_many.html", {}, status=429)
    response["Retry-After"] = str(exc.retry_after_seconds)
    return response


@public_page
@require_safe
def choose_language(request: HttpRequest, language: str) -> HttpResponse:
    target = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts=None) or not target.startswith(
        "/"
    ):
        target = "/"
    response = redirect(target)
    if language in LANGUAGES:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 60 * 60,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


def _verification_link(request: HttpRequest, token: str) -> SelfServiceLink | HttpResponse:
    """The link a verification step is for, after the rate limits (a guess is a POST); or
    the page to show instead: too many requests, or the same page for every unusable link."""
    try:
        check_address_rate(address=_address(request))
        link = usable_link(token)
        if request.method == "POST":
            check_link_rate(link=link)
    except TooManyRequests as exc:
        return _too_many(request, exc)
    except LinkUnusable:
        return _unusable(request)
    return link


@public_page
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, token: str) -> HttpResponse:
    """Step 1 of verification: the date of birth. The same answer whether it matched or not."""
    link = _verification_link(request, token)
    if isinstance(link, HttpResponse):
        return link
    form = DateOfBirthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        send_code(link=link, date_of_birth=form.cleaned_data["date_of_birth"])
        return redirect("public:code", token=token)
    return _render(request, "start.html", {"form": form, "kind": link.kind})


def _after_verification(link: SelfServiceLink) -> str:
    return reverse("public:case" if link.kind == LinkKind.CASE else "public:contact")


@public_page
@require_http_methods(["GET", "POST"])
def enter_code(request: HttpRequest, token: str) -> HttpResponse:
    """Step 2: the code we sent, if the date of birth was theirs."""
    link = _verification_link(request, token)
    if isinstance(link, HttpResponse):
        return link
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            visitor = check_code(link=link, code=form.cleaned_data["code"])
        except VerificationFailed:
            form.add_error(
                "code",
                _(
                    "The date of birth or the security code is not right. Check them and try "
                    "again, or ask for a new code"
                ),
            )
        else:
            remember_verified_visitor(request, visitor)
            return redirect(_after_verification(link))
    return _render(request, "code.html", {"form": form, "token": token})


def _visitor_link(request: HttpRequest, role: str) -> tuple[PublicVisitor, SelfServiceLink] | None:
    """The verified visitor of this role and their link, while it is still usable."""
    visitor = verified_visitor(request)
    if visitor is None or visitor.role != role:
        return None
    link = SelfServiceLink.objects.select_related("person__data_key", "case__person__data_key").get(
        pk=visitor.link_id
    )
    try:
        check_usable(link)
    except LinkUnusable:
        forget_visitor(request)
        return None
    return visitor, link


def _start_again(request: HttpRequest) -> HttpResponse:
    return _render(request, "start_again.html", {})


# --- the case's form -----------------------------------------------------------------------


def _case_only(view: Callable[..., HttpResponse]) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        found = _visitor_link(request, "case")
        if found is None:
            return _start_again(request)
        return view(request, found[1], *args, **kwargs)

    return wrapped


PLACE_LABELS = dict(PLACE_KINDS)
PROXIMITY_LABELS = dict(PROXIMITY_CHOICES)


@public_page
@require_safe
@_case_only
def case_overview(request: HttpRequest, link: SelfServiceLink) -> HttpResponse:
    answers = case_answers.load_answers(link=link)
    return _render(
        request,
        "case_overview.html",
        {
            "answers": answers,
            "places": [(p, PLACE_LABELS.get(p.kind, p.kind)) for p in answers.places],
            "contacts": [
                (c, PROXIMITY_LABELS.get(c.proximity, c.proximity)) for c in answers.contacts
            ],
            "error": request.GET.get("error", ""),
        },
    )


@public_page
@require_http_methods(["GET", "POST"])
@_case_only
def case_symptoms(request: HttpRequest, link: SelfServiceLink) -> HttpResponse:
    answers = case_answers.load_answers(link=link)
    form = SymptomsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        has_symptoms = form.cleaned_data["symptoms"] == "yes"
        onset = form.cleaned_data["symptom_onset"] if has_symptoms else None
        case = link.case
        assert case is not None
        try:
            # The same date checks opening a case makes, so sending cannot fail on them later.
            validate_case_dates(
                specimen_date=case.specimen_date,
                symptom_onset=onset,
                date_of_birth=None,
                today=timezone.localdate(),
            )
        except ValidationError:
            form.add_error(
                "symptom_onset", _("The date your symptoms started must be today or in the past")
            )
        if not form.errors:
            answers = replace(
                answers,
                symptoms=form.cleaned_data["symptoms"],
                symptom_onset=onset.isoformat() if onset else "",
            )
            case_answers.save_answers(link=link, answers=answers)
            return redirect("public:case")
    return _render(request, "case_symptoms.html", {"form": form})


@public_page
@require_http_methods(["GET", "POST"])
@_case_only
def case_add_place(request: HttpRequest, link: SelfServiceLink) -> HttpResponse:
    form = PlaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        place = case_answers.PlaceAnswer(
            kind=data["kind"],
            name=data["name"],
            postcode=data["postcode"],
            visited_on=data["visited_on"].isoformat(),
        )
        try:
            case_answers.add_place(link=link, place=place)
        except case_answers.TooManyAnswers:
            form.add_error(None, _("You cannot add more places online. A tracer will call you."))
        else:
            return redirect("public:case")
    return _render(request, "case_place.html", {"form": form})


@public_page
@require_http_methods(["GET", "POST"])
@_case_only
def case_add_contact(request: HttpRequest, link: SelfServiceLink) -> HttpResponse:
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        contact = case_answers.ContactAnswer(
            given_name=data["given_name"],
            family_name=data["family_name"],
            phone=data["phone"],
            email=data["email"],
            last_contact=data["last_contact"].isoformat(),
            proximity=data["proximity"],
        )
        try:
            case_answers.add_contact(link=link, contact=contact, today=timezone.localdate())
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                for message in messages:
                    form.add_error(name if name in form.fields else None, _(message))
        except case_answers.TooManyAnswers:
            form.add_error(None, _("You cannot add more contacts online. A tracer will call you."))
        else:
            return redirect("public:case")
    return _render(request, "case_contact.html", {"form": form})


@public_page
@require_POST
@_case_only
def case_remove(request: HttpRequest, link: SelfServiceLink) -> HttpResponse:
    answers = case_answers.load_answers(link=link)
    section, _sep, index = request.POST.get("item", "").partition("-")
    if section in ("places", "contacts") and index.isdigit():
        items = getattr(answers, section)
        if int(index) < len(items):
            del items[int(index)]
            case_answers.save_answers(link=link, answers=answers)
    return redirect("public:case")


@public_page
@require_POST
@_case_only
def case_submit(request: HttpRequest, link: SelfServiceLink) -> HttpResponse:
    try:
        case_answers.submit_answers(link=link)
    except case_answers.SubmissionError as exc:
        return redirect(f"{reverse('public:case')}?error={exc.section}-{exc.index}")
    forget_visitor(request)
    return redirect("public:case_done")


@public_page
@require_safe
def case_done(request: HttpRequest) -> HttpResponse:
    return _render(request, "case_done.html", {})


# --- the contact's page --------------------------------------------------------------------


def _support_url() -> str:
    """The support payments pages (confide.support), once they exist."""
    try:
        return reverse("support:start")
    except NoReverseMatch:
        return ""


@public_page
@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    found = _visitor_link(request, "contact")
    if found is None:
        return _start_again(request)
    visitor, _link = found
    form = CheckInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        assert visitor.exposure_id is not None
        exposure = Exposure.objects.select_related("contact__data_key").get(
            pk=visitor.exposure_id, contact_id=visitor.person_id
        )
        try:
            record_self_check_in(
                exposure=exposure,
                outcome=form.cleaned_data["outcome"],
                symptom_onset=form.cleaned_data["symptom_onset"],
            )
        except ValidationError:
            form.add_error(
                "symptom_onset", _("The date your symptoms started must be today or in the past")
            )
        except FollowUpClosed:
            pass  # already checked in today: the page says so
        else:
            return redirect(
                f"{reverse('public:contact')}?checked_in={form.cleaned_data['outcome']}"
            )
    page = contact_page(visitor)
    return _render(
        request,
        "contact.html",
        {
            "page": page,
            "form": form,
            "checked_in": request.GET.get("checked_in", ""),
            "support_url": _support_url(),
            "test_booking_link": "https://www.gov.uk/get-coronavirus-test",
        },
    )


@public_page
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    forget_visitor(request)
    return redirect("public:signed_out")


@public_page
@require_safe
def signed_out(request: HttpRequest) -> HttpResponse:
    return _render(request, "signed_out.html", {})
