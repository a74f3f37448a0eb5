"""The public support pages: thin — find the verified visitor, call a service, render.

A visitor who has not verified through their link sees only a page asking them to open it:
nothing personal, and nothing that says whether anyone exists.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from confide.public.access import verified_visitor
from confide.staff.decorators import public
from confide.support import services
from confide.support.eligibility import QUESTIONS, answer_label, assess_eligibility
from confide.support.evidence import max_evidence_bytes, too_large_message
from confide.support.forms import QUESTION_FORMS, BankDetailsForm, HelpForm, QuestionForm
from confide.support.models import ApplicationState, SupportApplication, SupportEvidence
from confide.support.periods import IsolationPeriod, isolation_period_for
from confide.support.selectors import masked_bank_details
from confide.support.uploads import BoundedMemoryUploadHandler

# The application's pages in order; "change" links on the check page come back to it.
STEPS = ("employment", "work_from_home", "benefit", "bank_details", "evidence", "check")

PeriodView = Callable[..., HttpResponse]


def payment_amount() -> str:
    pounds = settings.CONFIDE_SUPPORT_PAYMENT_PENCE / 100
    return f"£{pounds:,.0f}" if pounds == int(pounds) else f"£{pounds:,.2f}"


def support_page(view: PeriodView) -> PeriodView:
    """A public page in the visitor's chosen language (the cookie the public pages' language
    switch sets), never cached (it may be personal), declared public for the staff middleware
    and the authorisation matrix."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "en")
        with translation.override(language if language in {"en", "cy"} else "en"):
            request.LANGUAGE_CODE = translation.get_language()
            response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    return public(wrapped)


def _open_your_link(request: HttpRequest) -> HttpResponse:
    return render(request, "support/open_your_link.html")


def with_period(view: PeriodView) -> PeriodView:
    """Runs `view(request, period)` for a verified visitor with an isolation period."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        visitor = verified_visitor(request)
        period = isolation_period_for(visitor) if visitor is not None else None
        if period is None:
            return _open_your_link(request)
        return view(request, period, *args, **kwargs)

    return wrapped


def with_draft(view: Callable[..., HttpResponse]) -> PeriodView:
    """Runs `view(request, period, application)` while the visitor's application is a draft."""

    @wraps(view)
    def wrapped(
        request: HttpRequest, period: IsolationPeriod, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        application = _application(period)
        if application is None or application.state != ApplicationState.DRAFT:
            return redirect("support:start")
        return view(request, period, application, *args, **kwargs)

    return wrapped


def _application(period: IsolationPeriod) -> SupportApplication | None:
    lookup: dict[str, Any] = (
        {"exposure": period.exposure} if period.exposure is not None else {"case": period.case}
    )
    return (
        SupportApplication.objects.filter(person=period.person, **lookup)
        .select_related("data_key", "person")
        .first()
    )


def _next(request: HttpRequest, step: str) -> HttpResponse:
    if request.GET.get("change") == "1":
        return redirect("support:check")
    return redirect(f"support:{STEPS[STEPS.index(step) + 1]}")


def _back(step: str) -> str:
    index = STEPS.index(step)
    return reverse("support:start") if index == 0 else reverse(f"support:{STEPS[index - 1]}")


def _add_errors(form: Any, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@support_page
@require_http_methods(["GET", "POST"])
@with_period
def start(request: HttpRequest, period: IsolationPeriod) -> HttpResponse:
    today = timezone.localdate()
    application = _application(period)
    if request.method == "POST":
        try:
            application = services.start_application(period=period, today=today)
        except services.ClaimWindowClosed:
            pass
        else:
            if application.state == ApplicationState.DRAFT:
                return redirect("support:employment")
    return render(
        request,
        "support/start.html",
        {
            "period": period,
            "application": application,
            "open_for_claims": period.open_for_claims(today=today),
            "window_days": settings.CONFIDE_SUPPORT_CLAIM_WINDOW_DAYS,
            "amount": payment_amount(),
        },
    )


@support_page
@require_http_methods(["GET", "POST"])
@with_period
@with_draft
def question(
    request: HttpRequest, period: IsolationPeriod, application: SupportApplication, question: str
) -> HttpResponse:
    answers = services.application_answers(application)
    form = QuestionForm(
        request.POST or None, question=question, initial={"answer": answers.get(question)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.answer_question(
                application=application, question=question, answer=form.cleaned_data["answer"]
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            answers[question] = form.cleaned_data["answer"]
            # Once every question is answered, someone not eligible is told so straight away.
            answered = all(q in answers for q in QUESTIONS)
            if answered and not assess_eligibility(answers).eligible:
                return redirect("support:not_eligible")
            return _next(request, question)
    return render(
        request,
        "support/question.html",
        {
            "form": form,
            "field": form["answer"],
            "hint": QUESTION_FORMS[question][3],
            "back": _back(question),
            "change": request.GET.get("change") == "1",
        },
    )


@support_page
@require_http_methods(["GET"])
@with_period
@with_draft
def not_eligible(
    request: HttpRequest, period: IsolationPeriod, application: SupportApplication
) -> HttpResponse:
    eligibility = assess_eligibility(services.application_answers(application))
    if eligibility.eligible:
        return redirect("support:bank_details")
    return render(
        request,
        "support/not_eligible.html",
        {"reasons": eligibility.reasons, "local_contact": settings.CONFIDE_SUPPORT_LOCAL_CONTACT},
    )


@support_page
@require_http_methods(["GET", "POST"])
@with_period
@with_draft
def bank_details(
    request: HttpRequest, period: IsolationPeriod, application: SupportApplication
) -> HttpResponse:
    form = BankDetailsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_bank_details(application=application, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return _next(request, "bank_details")
    # Saved details are never put back into the page: the person types them again to change.
    return render(
        request,
        "support/bank_details.html",
        {"form": form, "back": _back("bank_details"), "saved": application.bank_account_index},
    )


class _EvidenceErrors:
    """Just enough of a form for the error summary and the file field's error message."""

    def __init__(self, error: str | None) -> None:
        self.errors = {"evidence": [error]} if error else {}


@support_page
@csrf_exempt  # the upload handler must be set before the CSRF check reads the body
@require_http_methods(["GET", "POST"])
def evidence(request: HttpRequest) -> HttpResponse:
    handler = BoundedMemoryUploadHandler(request, limit=max_evidence_bytes())
    request.upload_handlers = [handler]
    return _evidence(request, handler=handler)


@csrf_protect
@with_period
@with_draft
def _evidence(
    request: HttpRequest,
    period: IsolationPeriod,
    application: SupportApplication,
    *,
    handler: BoundedMemoryUploadHandler,
) -> HttpResponse:
    error: str | None = None
    if request.method == "POST":
        upload = request.FILES.get("evidence")
        if handler.too_large:
            error = too_large_message()
        elif upload is None:
            if "continue" in request.POST and application.evidence.exists():
                return _next(request, "evidence")
            error = str(_("Select a file to upload"))
        else:
            try:
                services.add_evidence(application=application, content=upload.read())
            except ValidationError as exc:
                error = str(exc.message_dict["evidence"][0])
            else:
                return redirect(request.get_full_path())
    return render(
        request,
        "support/evidence.html",
        {
            "form": _EvidenceErrors(error),
            "error": error,
            "files": list(SupportEvidence.objects.filter(application=application).order_by("pk")),
            "back": _back("evidence"),
            "max_megabytes": f"{max_evidence_bytes() / (1024 * 1024):g}",
        },
        status=200,
    )


@support_page
@require_http_methods(["POST"])
@with_period
@with_draft
def remove_evidence(
    request: HttpRequest, period: IsolationPeriod, application: SupportApplication
) -> HttpResponse:
    evidence_id = request.POST.get("evidence_id", "")
    if evidence_id.isdigit():
        services.remove_evidence(application=application, evidence_id=int(evidence_id))
    return redirect("support:evidence")


@support_page
@require_http_methods(["GET", "POST"])
@with_period
@with_draft
def check(
    request: HttpRequest, period: IsolationPeriod, application: SupportApplication
) -> HttpResponse:
    errors: dict[str, list[Any]] = {}
    if request.method == "POST":
        try:
            services.submit_application(application=application)
        except services.NotEligible:
            return redirect("support:not_eligible")
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            return redirect("support:sent")
    answers = services.application_answers(application)
    key_fields = masked_bank_details(application)
    return render(
        request,
        "support/check.html",
        {
            "answers": [
                (QUESTION_FORMS[q][0], answer_label(q, answers.get(q)), f"support:{q}")
                for q in QUESTIONS
            ],
            "bank": key_fields,
            "files": list(SupportEvidence.objects.filter(application=application).order_by("pk")),
            "errors": errors,
            "back": _back("check"),
        },
    )


@support_page
@require_http_methods(["GET"])
@with_period
def sent(request: HttpRequest, period: IsolationPeriod) -> HttpResponse:
    application = _application(period)
    if application is None or application.state == ApplicationState.DRAFT:
        return redirect("support:start")
    return render(
        request,
        "support/sent.html",
        {"application": application, "amount": payment_amount()},
    )


@support_page
@require_http_methods(["GET", "POST"])
@with_period
def help_request(request: HttpRequest, period: IsolationPeriod) -> HttpResponse:
    form = HelpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_practical_help(period=period, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return redirect("support:help_sent")
    return render(request, "support/help.html", {"form": form})


@support_page
@require_http_methods(["GET"])
@with_period
def help_sent(request: HttpRequest, period: IsolationPeriod) -> HttpResponse:
    return render(
        request, "support/help_sent.html", {"local_contact": settings.CONFIDE_SUPPORT_LOCAL_CONTACT}
    )
