"""Supervisors' pages for messages: edit templates (a new version each time, with a preview)
and send a message to a group of staff — one individual message per person."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from confide.messaging.forms import BroadcastForm, TemplateForm
from confide.messaging.models import Channel, Language, MessageTemplate
from confide.messaging.services import (
    NoTemplate,
    broadcast_to_staff,
    current_template,
    preview,
    save_template_version,
)
from confide.messaging.template_types import TEMPLATE_TYPES, TemplateKind
from confide.messaging.templating import render as render_template
from confide.messaging.templating import validate_template_text
from confide.staff.decorators import requires
from confide.staff.models import StaffMember
from confide.staff.selectors import staff_group_members, staff_groups


def _latest_templates() -> list[MessageTemplate]:
    latest: dict[tuple[str, str, str], MessageTemplate] = {}
    for template in MessageTemplate.objects.order_by("kind", "channel", "language", "version"):
        latest[(template.kind, template.channel, template.language)] = template
    return list(latest.values())


@requires("messaging.manage_templates")
@require_safe
def template_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "messaging/template_list.html",
        {"templates": _latest_templates(), "nav": "messages"},
    )


@requires("messaging.manage_templates")
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, kind: str, channel: str, language: str) -> HttpResponse:
    if (
        kind not in TemplateKind.values
        or channel not in Channel.values
        or language not in Language.values
    ):
        raise Http404
    template: MessageTemplate | None
    try:
        template = current_template(kind=kind, channel=channel, language=language)
    except NoTemplate:
        template = None
    if template is not None and template.language != language:
        template = None  # the fallback is English: this will be the first version in this language
    initial = {"subject": template.subject, "body": template.body} if template else {}
    form = TemplateForm(request.POST or None, initial=initial)
    sample = None
    if request.method == "POST" and form.is_valid():
        subject, body = form.cleaned_data["subject"], form.cleaned_data["body"]
        try:
            if "save" in request.POST:
                assert isinstance(request.user, StaffMember)
                saved = save_template_version(
                    kind=kind,
                    channel=channel,
                    language=language,
                    name=template.name if template else TemplateKind(kind).label,
                    subject=subject,
                    body=body,
                    by=request.user,
                )
                messages.success(request, f"Saved version {saved.version}; new messages use it.")
                return redirect("messaging:templates")
            validate_template_text(kind=kind, subject=subject, body=body)
            sample = render_template(
                kind=kind, subject=subject, body=body, values=TEMPLATE_TYPES[kind].sample
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
    elif template is not None:
        sample = preview(template)
    return render(
        request,
        "messaging/template_edit.html",
        {
            "form": form,
            "kind": TemplateKind(kind),
            "channel": Channel(channel),
            "language": Language(language),
            "template": template,
            "fields": sorted(TEMPLATE_TYPES[kind].fields),
            "sample": sample,
            "nav": "messages",
        },
    )


@requires("messaging.broadcast")
@require_http_methods(["GET", "POST"])
def broadcast(request: HttpRequest) -> HttpResponse:
    """Choose a group, see the message and how many people get it, then confirm."""
    form = BroadcastForm(request.POST or None)
    template: MessageTemplate | None
    try:
        template = current_template(kind=TemplateKind.STAFF_BROADCAST, channel=Channel.EMAIL)
    except NoTemplate:
        template = None
    context: dict[str, object] = {"form": form, "template": template, "nav": "messages"}
    if request.method == "POST" and form.is_valid() and template is not None:
        key = form.cleaned_data["group"]
        group_name = next(g.name for g in staff_groups() if g.key == key).split(": ", 1)[-1]
        members = staff_group_members(key)
        if "confirm" in request.POST:
            assert isinstance(request.user, StaffMember)
            try:
                sent = broadcast_to_staff(
                    members=members, group_name=group_name, template=template, sent_by=request.user
                )
            except ValidationError as exc:
                form.add_error("group", exc.messages[0])
            else:
                messages.success(
                    request,
                    f"Queued {sent.recipient_count} messages, one to each person. "
                    "Nobody sees anyone else’s address.",
                )
                return redirect("messaging:broadcast")
        context.update(
            {
                "confirming": True,
                "group_key": key,
                "group_name": group_name,
                "recipient_count": members.count(),
                "sample": preview(
                    template, {"first_name": "(their first name)", "group_name": group_name}
                ),
            }
        )
    return render(request, "messaging/broadcast.html", context)
