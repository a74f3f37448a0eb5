"""Subject access and rights pages: thin views over confide/dpo/subject_access.py. DPO only."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from confide.dpo.models import SubjectAccessRequest
from confide.dpo.rights_forms import ErasureForm, RectificationForm, SubjectAccessForm
from confide.dpo.subject_access import (
    ErasureNotAllowed,
    SubjectNotFound,
    current_details,
    erase_subject,
    erasure_refusal,
    record_subject_access_request,
    rectify_subject,
    subject_access_export,
)
from confide.dpo.views import _add_errors, _member
from confide.people.services import PersonErased
from confide.staff.decorators import requires


@requires("dpo.view_office")
@require_http_methods(["GET", "POST"])
def subject_access_new(request: HttpRequest) -> HttpResponse:
    form = SubjectAccessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            recorded = record_subject_access_request(by=_member(request), **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        except SubjectNotFound as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("dpo:subject_access", reference=recorded.reference)
    return render(
        request,
        "dpo/subject_access_new.html",
        {"nav": "dpo", "form": form, "recent": SubjectAccessRequest.objects.all()[:20]},
    )


def _request(reference: uuid.UUID) -> SubjectAccessRequest:
    return get_object_or_404(
        SubjectAccessRequest.objects.select_related("person__data_key"), reference=reference
    )


@requires("dpo.view_office")
@require_safe
@never_cache
def subject_access(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    """The export as a printable page (the browser's print saves it as PDF)."""
    item = _request(reference)
    export = subject_access_export(request=item, by=_member(request), file_format="HTML")
    return render(
        request,
        "dpo/subject_access.html",
        {
            "nav": "dpo",
            "item": item,
            "export": export.content,
            "erasure_refusal": erasure_refusal(item.person, today=timezone.localdate()),
            "erasure_form": ErasureForm(),
        },
    )


@requires("dpo.view_office")
@require_safe
@never_cache
def subject_access_json(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    item = _request(reference)
    export = subject_access_export(request=item, by=_member(request), file_format="JSON")
    response = HttpResponse(export.as_json(), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="subject-access-{item.reference}.json"'
    return response


@requires("dpo.view_office")
@require_http_methods(["GET", "POST"])
@never_cache
def subject_access_rectify(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    item = _request(reference)
    member = _member(request)
    if item.person.erased_at is not None:
        messages.error(request, "Their details have been erased: there is nothing to correct.")
        return redirect("dpo:subject_access", reference=item.reference)
    if request.method == "POST":
        form = RectificationForm(request.POST)
        if form.is_valid():
            try:
                rectify_subject(request=item, by=member, details=form.details())
            except ValidationError as exc:
                _add_errors(form, exc)
            except PersonErased:
                messages.error(request, "This person’s details have been erased.")
                return redirect("dpo:subject_access", reference=item.reference)
            else:
                messages.success(request, "Details corrected")
                return redirect("dpo:subject_access", reference=item.reference)
    else:
        details = current_details(request=item, by=member)
        form = RectificationForm(initial=RectificationForm.initial_from(details))
    return render(
        request, "dpo/subject_access_rectify.html", {"nav": "dpo", "item": item, "form": form}
    )


@requires("dpo.view_office")
@require_POST
def subject_access_erase(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    item = _request(reference)
    form = ErasureForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Confirm that the person has asked for erasure.")
        return redirect("dpo:subject_access", reference=item.reference)
    try:
        erase_subject(request=item, by=_member(request), today=timezone.localdate())
    except ErasureNotAllowed as exc:
        messages.error(request, f"Not erased. {exc}")
    else:
        messages.success(request, "Erased: their key is destroyed and nothing can be decrypted")
    return redirect("dpo:subject_access", reference=item.reference)
