"""The data protection office's pages: thin views over breaches.py, disclosures.py, selectors.py.

Every view declares its permission (confide/staff/permissions.py). The disclosure rules are
enforced in the services, so these views only parse, call and render.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from confide.dpo import selectors
from confide.dpo.breaches import EDITABLE_FIELDS, close_breach, open_breach, update_breach
from confide.dpo.clock import time_left
from confide.dpo.disclosures import (
    FIELD_LABELS,
    STANDARD_REFUSAL,
    DisclosureNotAllowed,
    approve_disclosure,
    produce_disclosure,
    record_disclosure_request,
    requester_details,
    second_approve_disclosure,
)
from confide.dpo.forms import TIME_FORMAT, ApprovalForm, BreachForm, DisclosureRequestForm
from confide.dpo.models import Breach, DisclosureRequest, DisclosureStatus
from confide.staff.decorators import requires
from confide.staff.models import Role, StaffMember


def _member(request: HttpRequest) -> StaffMember:
    user = request.user
    assert isinstance(user, StaffMember)  # `requires` has checked the sign-in
    return user


def _add_errors(
    form: forms.Form, exc: ValidationError, *, renamed: dict[str, str] | None = None
) -> None:
    for name, errors in exc.message_dict.items():
        name = (renamed or {}).get(name, name)
        form.add_error(name if name in form.fields else None, errors)


@requires("dpo.view_office")
@require_safe
def office(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dpo/office.html",
        {
            "nav": "dpo",
            "breaches": selectors.open_breaches(now=timezone.now()),
            "disclosures": selectors.recent_disclosure_requests(),
        },
    )


@requires("dpo.view_office")
@require_http_methods(["GET", "POST"])
def breach_new(request: HttpRequest) -> HttpResponse:
    form = BreachForm(
        request.POST or None,
        initial={"became_aware_at": _minutes(timezone.now())},
    )
    if request.method == "POST" and form.is_valid():
        fields = form.changes()
        try:
            breach = open_breach(by=_member(request), **fields)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Breach recorded")
            return redirect("dpo:breach", reference=breach.reference)
    return render(request, "dpo/breach_form.html", {"nav": "dpo", "form": form, "breach": None})


def _minutes(moment: datetime) -> str:
    return timezone.localtime(moment).strftime(TIME_FORMAT)


def _breach(reference: uuid.UUID) -> Breach:
    return get_object_or_404(Breach, reference=reference)


@requires("dpo.view_office")
@require_http_methods(["GET", "POST"])
def breach(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    entry = _breach(reference)
    current = {name: getattr(entry, name) for name in EDITABLE_FIELDS}
    initial = {
        name: _minutes(value) if isinstance(value, datetime) else value
        for name, value in current.items()
    }
    form = BreachForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        # The form shows times to the minute: an unchanged one must not count as a change.
        changes = {
            name: value
            for name, value in form.changes().items()
            if not (
                isinstance(value, datetime)
                and isinstance(current[name], datetime)
                and _minutes(value) == _minutes(current[name])
            )
        }
        try:
            update_breach(breach=entry, by=_member(request), **changes)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Breach updated")
            return redirect("dpo:breach", reference=entry.reference)
    return render(
        request,
        "dpo/breach_form.html",
        {
            "nav": "dpo",
            "form": form,
            "breach": entry,
            "clock": time_left(became_aware_at=entry.became_aware_at, now=timezone.now()),
            "changes": entry.changes.all(),
        },
    )


@requires("dpo.view_office")
@require_POST
def breach_close(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    entry = _breach(reference)
    try:
        close_breach(breach=entry, by=_member(request))
    except ValidationError as exc:
        for problem in exc.messages:
            messages.error(request, problem)
    else:
        messages.success(request, "Breach closed")
    return redirect("dpo:breach", reference=entry.reference)


@requires("dpo.view_office")
@require_safe
def breach_report(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    entry = _breach(reference)
    report = selectors.ico_report(entry, now=timezone.now())
    return render(
        request, "dpo/breach_report.html", {"nav": "dpo", "breach": entry, "report": report}
    )


@requires("dpo.view_office")
@require_safe
def breach_report_json(request: HttpRequest, reference: uuid.UUID) -> JsonResponse:
    entry = _breach(reference)
    response = JsonResponse(selectors.ico_report(entry, now=timezone.now()))
    response["Content-Disposition"] = f'attachment; filename="breach-{entry.reference}.json"'
    return response


@requires("dpo.record_disclosure_request")
@require_http_methods(["GET", "POST"])
def disclosure_new(request: HttpRequest) -> HttpResponse:
    form = DisclosureRequestForm(
        request.POST or None,
        initial={"received_at": _minutes(timezone.now())},
    )
    if request.method == "POST" and form.is_valid():
        try:
            recorded = record_disclosure_request(by=_member(request), **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Request recorded and refused")
            return redirect("dpo:disclosure", reference=recorded.reference)
    return render(
        request,
        "dpo/disclosure_new.html",
        {"nav": "dpo", "form": form, "refusal": STANDARD_REFUSAL},
    )


def _disclosure(reference: uuid.UUID) -> DisclosureRequest:
    return get_object_or_404(DisclosureRequest, reference=reference)


def _disclosure_page(
    request: HttpRequest, item: DisclosureRequest, form: ApprovalForm | None = None
) -> HttpResponse:
    member = _member(request)
    return render(
        request,
        "dpo/disclosure.html",
        {
            "nav": "dpo",
            "item": item,
            "requester": requester_details(item),
            "requested": [FIELD_LABELS[n] for n in item.requested_fields],
            "approved": [FIELD_LABELS[n] for n in item.approved_fields],
            "subject_count": item.subjects.count(),
            "approvals": item.approvals.all(),
            "refusal": STANDARD_REFUSAL,
            "is_dpo": member.role == Role.DATA_PROTECTION_OFFICER,
            "can_second": member.has_perm("dpo.second_approve_disclosure"),
            "form": form or ApprovalForm(requested=item.requested_fields),
            "statuses": DisclosureStatus,
        },
    )


@requires("dpo.record_disclosure_request")
@require_safe
def disclosure(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    return _disclosure_page(request, _disclosure(reference))


@requires("dpo.view_office")
@require_POST
def disclosure_approve(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    item = _disclosure(reference)
    form = ApprovalForm(request.POST, requested=item.requested_fields)
    if form.is_valid():
        try:
            approve_disclosure(
                request=item,
                by=_member(request),
                lawful_basis=form.cleaned_data["lawful_basis"],
                justification=form.cleaned_data["justification"],
                fields=form.cleaned_data["disclosed_fields"],
            )
        except ValidationError as exc:
            _add_errors(form, exc, renamed={"fields": "disclosed_fields"})
        except DisclosureNotAllowed as exc:
            messages.error(request, str(exc))
            return redirect("dpo:disclosure", reference=item.reference)
        else:
            messages.success(request, "Approved: a second approver must now agree")
            return redirect("dpo:disclosure", reference=item.reference)
    return _disclosure_page(request, item, form)


@requires("dpo.second_approve_disclosure")
@require_POST
def disclosure_second_approval(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    item = _disclosure(reference)
    try:
        second_approve_disclosure(request=item, by=_member(request))
    except DisclosureNotAllowed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Second approval recorded")
    return redirect("dpo:disclosure", reference=item.reference)


@requires("dpo.view_office")
@require_POST
@never_cache
def disclosure_produce(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    """The one time the disclosed values exist: in this response, never stored or cached."""
    item = _disclosure(reference)
    try:
        released = produce_disclosure(request=item, by=_member(request))
    except DisclosureNotAllowed as exc:
        messages.error(request, str(exc))
        return redirect("dpo:disclosure", reference=item.reference)
    if request.POST.get("format") == "json":
        response = HttpResponse(
            json.dumps(released.as_json(), indent=2), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="disclosure-{item.reference}.json"'
        return response
    return render(
        request,
        "dpo/disclosure_produced.html",
        {"nav": "dpo", "item": item, "released": released, "labels": FIELD_LABELS},
    )


@requires("dpo.view_office")
@require_safe
def records_of_processing(request: HttpRequest) -> HttpResponse:
    from confide.dpo.processing import records_of_processing as records
    from confide.dpo.retention import retention_policies

    return render(
        request,
        "dpo/records_of_processing.html",
        {"nav": "dpo", "records": records(), "policies": retention_policies()},
    )
