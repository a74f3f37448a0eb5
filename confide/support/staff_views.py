"""The local authority's support pages: application queue and review, payments, help requests.

Thin: each view names its permission (confide/staff/permissions.py), calls a selector or a
service and renders. Every decryption goes through a selector that logs it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from confide.staff.decorators import requires
from confide.staff.models import StaffMember
from confide.support import selectors, services
from confide.support.evidence import EXTENSIONS
from confide.support.forms import APPROVE, DecisionForm, PaymentForm
from confide.support.models import ApplicationState, PracticalHelpRequest, SupportApplication

REVIEW = "support.review_applications"
HELP = "support.handle_help_requests"


def _member(request: HttpRequest) -> StaffMember:
    user = request.user
    assert isinstance(user, StaffMember)
    return user


def _application(request: HttpRequest, reference: Any, **_: Any) -> SupportApplication | None:
    return selectors.application_or_none(reference)


def _help_request(request: HttpRequest, reference: Any, **_: Any) -> PracticalHelpRequest | None:
    return selectors.help_request_or_none(reference)


def _add_errors(form: Any, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@requires(REVIEW)
@require_http_methods(["GET"])
def queue(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", ApplicationState.SUBMITTED)
    if state not in selectors.QUEUE_STATES:
        state = ApplicationState.SUBMITTED
    page = selectors.application_queue(state=state, cursor=request.GET.get("after"))
    return render(
        request,
        "support/staff/queue.html",
        {"nav": "support", "page": page, "state": state, "states": selectors.QUEUE_STATES},
    )


def _review_page(
    request: HttpRequest, application: SupportApplication, form: DecisionForm, **extra: Any
) -> HttpResponse:
    review = selectors.review_application(application=application, by=_member(request))
    return render(
        request,
        "support/staff/review.html",
        {"nav": "support", "review": review, "form": form, **extra},
    )


@requires(REVIEW, target=_application)
@require_http_methods(["GET", "POST"])
def review(
    request: HttpRequest, application: SupportApplication | None, reference: Any
) -> HttpResponse:
    if application is None:
        raise Http404
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == APPROVE:
                services.approve_application(
                    application=application,
                    by=_member(request),
                    duplicate_checked=data["duplicate_checked"],
                    reason=data["reason"],
                )
            else:
                services.reject_application(
                    application=application, by=_member(request), reason=data["reason"]
                )
        except ValidationError as exc:
            _add_errors(form, exc)
        except services.DecisionNotAllowed:
            messages.info(request, "This application was already decided")
            return redirect("support:review", reference=application.reference)
        else:
            done = "approved" if data["decision"] == APPROVE else "rejected"
            messages.success(request, f"Application {application.short_reference} {done}")
            if data["decision"] == APPROVE:
                return redirect("support:payment", reference=application.reference)
            return redirect("support:queue")
    return _review_page(request, application, form)


@requires(REVIEW, target=_application)
@require_http_methods(["POST"])
def reveal_bank_details(
    request: HttpRequest, application: SupportApplication | None, reference: Any
) -> HttpResponse:
    """A POST, so a link or a prefetch cannot reveal (and log) them by accident."""
    if application is None:
        raise Http404
    revealed = selectors.reveal_bank_details(application=application, by=_member(request))
    return _review_page(request, application, DecisionForm(), revealed=revealed)


@requires(REVIEW, target=_application)
@require_http_methods(["GET"])
def evidence_file(
    request: HttpRequest, application: SupportApplication | None, reference: Any, evidence_id: int
) -> HttpResponse:
    if application is None:
        raise Http404
    found = selectors.open_evidence(
        application=application, evidence_id=evidence_id, by=_member(request)
    )
    if found is None:
        raise Http404
    evidence, content = found
    response = HttpResponse(content, content_type=evidence.content_type)
    name = f"evidence-{evidence.pk}.{EXTENSIONS.get(evidence.content_type, 'bin')}"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "no-store"
    # A file a member of the public sent is shown, never run: no scripts, no plugins.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


@requires(REVIEW, target=_application)
@require_http_methods(["GET", "POST"])
def payment(
    request: HttpRequest, application: SupportApplication | None, reference: Any
) -> HttpResponse:
    if application is None:
        raise Http404
    default_amount = Decimal(settings.CONFIDE_SUPPORT_PAYMENT_PENCE) / 100
    form = PaymentForm(request.POST or None, initial={"amount": default_amount})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_payment(
                application=application,
                by=_member(request),
                paid_on=data["paid_on"],
                amount_pence=int(data["amount"] * 100),
                payment_reference=data["payment_reference"],
                today=timezone.localdate(),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        except services.DecisionNotAllowed:
            form.add_error(None, "Only an approved application can be paid")
        except services.AlreadyPaid:
            form.add_error(None, "A payment for this person and isolation period is recorded")
        else:
            messages.success(request, f"Payment recorded for {application.short_reference}")
            return redirect("support:queue")
    return render(
        request,
        "support/staff/payment.html",
        {"nav": "support", "application": application, "form": form},
    )


@requires(HELP)
@require_http_methods(["GET"])
def help_queue(request: HttpRequest) -> HttpResponse:
    page = selectors.help_queue(cursor=request.GET.get("after"))
    return render(request, "support/staff/help_queue.html", {"nav": "support", "page": page})


@requires(HELP, target=_help_request)
@require_http_methods(["GET", "POST"])
def help_request(
    request: HttpRequest, help_request: PracticalHelpRequest | None, reference: Any
) -> HttpResponse:
    if help_request is None:
        raise Http404
    if request.method == "POST":
        try:
            services.mark_help_handled(request=help_request, by=_member(request))
        except services.DecisionNotAllowed:
            messages.info(request, "This request was already marked as handled")
        else:
            messages.success(request, "Request marked as handled")
        return redirect("support:help_queue")
    view = selectors.read_help_request(request=help_request, by=_member(request))
    return render(request, "support/staff/help_request.html", {"nav": "support", "help": view})
