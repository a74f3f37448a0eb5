"""The tracer workspace and the supervisor's dashboard: thin views over the services.

Every view declares its permission with `requires` (confide/staff/permissions.py). Views for
one work item take it from `_item`, so a tracer who does not hold the item gets 404, not a
hint that it exists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from confide.cases.models import Case
from confide.cases.transitions import TransitionNotAllowed
from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.selectors import active_safeguarding
from confide.people.services import set_safeguarding_flags
from confide.public.links import revoke_links
from confide.staff.decorators import requires
from confide.staff.models import StaffMember, Tier
from confide.staff.selectors import trained_today
from confide.tracing.models import Exposure, SettingKind
from confide.tracing.services import record_named_contact, record_setting_visit
from confide.workqueue.models import CONTACT_CALL_KINDS, CallOutcome, WorkItem, WorkKind, WorkState
from confide.workqueue.services import (
    claim_next,
    complete_contact_call,
    complete_item,
    current_claim,
    escalate_case,
    reassign_item,
    record_call,
    release_item,
)
from confide.workspace import selectors
from confide.workspace.follow_up_selectors import follow_ups_today
from confide.workspace.forms import (
    CompleteInterviewForm,
    ContactForm,
    EscalateForm,
    PlaceVisitedForm,
    PopulationSearchForm,
    ReassignForm,
    RecordCallForm,
    SafeguardingForm,
)
from confide.workspace.line_list import line_list_csv, record_line_list_export


def _member(request: HttpRequest) -> StaffMember:
    user = request.user
    assert isinstance(user, StaffMember)  # `requires` has checked the sign-in
    return user


def _item(request: HttpRequest, item_id: int) -> WorkItem | None:
    """The item alone: enough to check who holds it, and for the views whose service locks
    and reloads it. (Joining every subject an item might have, for every view, cost more CPU
    to build than anything else those requests did.)"""
    return _one(WorkItem.objects.all(), item_id)


def _case_item(request: HttpRequest, item_id: int) -> WorkItem | None:
    """The item with its case and the case's policy: the case interview's own forms."""
    return _one(WorkItem.objects.select_related("case__policy"), item_id)


def _item_with_case(request: HttpRequest, item_id: int) -> WorkItem | None:
    """The item with its case and the case's person, ready to decrypt: a case interview's page
    (most items); `_load_subject` loads a contact call's or a setting review's subject."""
    return _one(WorkItem.objects.select_related("case__person__data_key"), item_id)


def _one(items: QuerySet[WorkItem], item_id: int) -> WorkItem | None:
    # get() rather than first(): no ORDER BY to build for a lookup by primary key.
    try:
        return items.get(pk=item_id)
    except WorkItem.DoesNotExist:
        return None


def _load_subject(item: WorkItem) -> None:
    """Load the one subject the item's page shows, with what decrypting its person needs,
    unless it came with the item."""
    if item.case_id is not None:
        loaded = item.case if WorkItem.case.is_cached(item) else None
        if loaded is None or not Case.person.is_cached(loaded):
            item.case = Case.objects.select_related("person__data_key").get(pk=item.case_id)
    elif item.exposure_id is not None:
        item.exposure = Exposure.objects.select_related("contact__data_key").get(
            pk=item.exposure_id
        )


def _time_in_words(moment: datetime) -> str:
    """GOV.UK style: 2:30pm on Tuesday 3 March."""
    local = timezone.localtime(moment)
    hour = local.hour % 12 or 12
    return (
        f"{hour}:{local:%M}{'am' if local.hour < 12 else 'pm'} on {local:%A} {local.day} {local:%B}"
    )


def _add_service_errors(form: forms.Form, exc: ValidationError, *, elsewhere: str) -> None:
    """Put a service's errors on the form's fields; errors about anything else on `elsewhere`."""
    by_field: dict[str, list[str]] = (
        exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    )
    for field, errors in by_field.items():
        target = field if field in form.fields else elsewhere
        for error in errors:
            if target not in form.errors or error not in form.errors[target]:
                form.add_error(target, error)


# --- your work ---------------------------------------------------------------------------


@requires("workqueue.view_own_work")
@require_safe
def your_work(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    trained = trained_today(member)
    context: dict[str, Any] = {
        "nav": "work",
        "trained": trained,
        "is_tracer": member.tier is not None,
        "can_supervise": member.has_perm("workqueue.view_dashboard"),
    }
    if trained and member.tier is not None:
        held = current_claim(member)
        context.update(
            held=held,
            held_kind=WorkKind(held.kind).label if held else "",
            depth=selectors.queue_depth(tier=member.tier),
            tier_label=Tier(member.tier).label,
            next_label={
                Tier.CALL_HANDLING: "Get the next contact to call",
                Tier.CLINICAL: "Get the next case",
                Tier.LOCAL_HEALTH_PROTECTION: "Get the next case or setting",
            }[Tier(member.tier)],
        )
    return render(request, "workspace/your_work.html", context)


@requires("workqueue.claim")
@require_POST
def claim_next_item(request: HttpRequest) -> HttpResponse:
    item = claim_next(tracer=_member(request))
    if item is None:
        messages.info(request, "There is no work waiting in your queue. Try again shortly.")
        return redirect("workspace:your_work")
    return redirect("workspace:item", item_id=item.pk)


# --- one work item -----------------------------------------------------------------------


def _render_item(
    request: HttpRequest,
    item: WorkItem,
    *,
    call_form: RecordCallForm | None = None,
    complete_form: CompleteInterviewForm | None = None,
) -> HttpResponse:
    member = _member(request)
    _load_subject(item)
    call_form = call_form or RecordCallForm(prefix="call")
    complete_form = complete_form or CompleteInterviewForm(prefix="complete")
    context: dict[str, Any] = {
        "nav": "work",
        "item": item,
        "call_form": call_form,
        "complete_form": complete_form,
        "error_form": call_form if call_form.errors else complete_form,
    }
    if item.kind == WorkKind.CASE_INTERVIEW:
        page = selectors.case_interview_page(item=item, by=member)
        context.update(page=page, script=f"workspace/scripts/case_interview_tier_{item.tier}.html")
        template = "workspace/item_case_interview.html"
    elif item.kind in CONTACT_CALL_KINDS:
        context.update(page=selectors.contact_call_page(item=item, by=member))
        template = "workspace/item_contact_call.html"
    else:
        context.update(page=selectors.setting_review_page(item=item))
        template = "workspace/item_setting_review.html"
    return render(request, template, context)


@requires("workqueue.work_item", target=_item_with_case)
@require_safe
def item_page(request: HttpRequest, item: WorkItem, item_id: int) -> HttpResponse:
    if item.kind == WorkKind.FOLLOW_UP:
        return redirect("workspace:follow_up", item_id=item.pk)
    return _render_item(request, item)


@requires("workqueue.work_item", target=_item)
@require_POST
def record_call_attempt(request: HttpRequest, item: WorkItem, item_id: int) -> HttpResponse:
    if item.kind in (WorkKind.SETTING_REVIEW, WorkKind.FOLLOW_UP):
        raise Http404
    form = RecordCallForm(request.POST, prefix="call")
    if not form.is_valid():
        return _render_item(request, item, call_form=form)
    outcome = form.cleaned_data["outcome"]
    try:
        attempt = record_call(item=item, outcome=outcome, by=_member(request))
    except TransitionNotAllowed:
        # Nothing was saved (record_call is one transaction); say so rather than fail.
        form.add_error(
            "outcome", "This outcome cannot be recorded now; complete the interview instead"
        )
        return _render_item(request, item, call_form=form)
    item = attempt.work_item  # locked, updated and saved by record_call
    if item.state == WorkState.WAITING:
        messages.success(
            request, f"Call recorded; we will try again after {_time_in_words(item.available_at)}"
        )
        return redirect("workspace:your_work")
    if item.state == WorkState.DONE:
        if outcome == CallOutcome.REFUSED:
            ending = "they refused to take part, so the case is closed"
        elif item.kind == WorkKind.CASE_INTERVIEW:
            ending = "we could not reach them, so the case is marked as unreachable"
        else:
            ending = "we could not reach them, so this call is closed"
        messages.success(request, f"Call recorded; {ending}")
        return redirect("workspace:your_work")
    messages.success(request, "Call recorded. Carry on with the call.")
    return redirect("workspace:item", item_id=item.pk)


def _case_interview_only(item: WorkItem) -> None:
    if item.kind != WorkKind.CASE_INTERVIEW or item.case is None:
        raise Http404


@requires("workqueue.work_item", target=_case_item)
@require_http_methods(["GET", "POST"])
def add_contact(request: HttpRequest, item: WorkItem, item_id: int) -> HttpResponse:
    _case_interview_only(item)
    assert item.case is not None
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            named = record_named_contact(
                case=item.case,
                details=PersonDetails(
                    given_name=data["given_name"],
                    family_name=data["family_name"],
                    nhs_number=data["nhs_number"],
                    phone=data["phone"],
                    email=data["email"],
                ),
                last_contact=data["last_contact"],
                proximity=data["proximity"],
                by=_member(request),
            )
        except ValidationError as exc:
            _add_service_errors(form, exc, elsewhere="given_name")
        else:
            if named.linked_to_known_person:
                messages.success(
                    request, "Contact added. This person is already known to us; we linked them."
                )
            else:
                messages.success(request, "Contact added. We will tell them to self-isolate.")
            return redirect("workspace:item", item_id=item.pk)
    return render(
        request,
        "workspace/add_contact.html",
        {"nav": "work", "item": item, "case": item.case, "form": form},
    )


@requires("workqueue.work_item", target=_case_item)
@require_http_methods(["GET", "POST"])
def add_place_visited(request: HttpRequest, item: WorkItem, item_id: int) -> HttpResponse:
    _case_interview_only(item)
    assert item.case is not None
    form = PlaceVisitedForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            reported = record_setting_visit(
                case=item.case,
                kind=data["kind"],
                name="" if data["kind"] == SettingKind.HOUSEHOLD else data["name"],
                postcode=data["postcode"],
                visited_on=data["visited_on"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc, elsewhere="kind")
        else:
            kind = SettingKind(reported.visit.setting.kind).label.lower()
            if reported.cluster_review is not None:
                messages.warning(
                    request,
                    "Place recorded. Other cases were there while infectious, so local health "
                    "protection (tier 1) will review it as a possible cluster.",
                )
            elif reported.setting_review is not None:
                messages.warning(
                    request,
                    f"Place recorded. Because it is a {kind}, local health protection "
                    "(tier 1) will review it.",
                )
            else:
                messages.success(request, "Place recorded.")
            return redirect("workspace:item", item_id=item.pk)
    return render(
        request,
        "workspace/add_place.html",
        {
            "nav": "work",
            "item": item,
            "case": item.case,
            "form": form,
            "household": SettingKind.HOUSEHOLD,
        },
    )


@requires("workqueue.work_item", target=_case_item)
@require_http_methods(["GET", "POST"])
def escalate(request: HttpRequest, item: WorkItem, item_id: int) -> HttpResponse:
    _case_interview_only(item)
    assert item.case is not None
    form = EscalateForm(request.POST or None, current_tier=item.tier)
    if request.method == "POST" and form.is_valid():
        to_tier = int(form.cleaned_data["to_tier"])
        try:
            escalate_case(
                case=item.case,
                to_tier=to_tier,
                reason=form.cleaned_data["reason"],
                by=_member(request),
            )
        except ValidationError as exc:
            _add_service_errors(form, exc, elsewhere="reason")
        except TransitionNotAllowed:
            form.add_error("to_tier", "This case cannot be escalated now")
        else:
            messages.success(request, f"Case escalated to {Tier(to_tier).label.lower()}")
            return redirect("workspace:your_work")
    return render(request, "workspace/escalate.html", {"nav": "work", "item": item, "form": form})


@requires("workqueue.work_item", target=_item)
@require_POST
def complete(request: HttpRequest, item: WorkItem, item_id: int) -> HttpResponse:
    member = _member(request)
    if item.kind == WorkKind.CASE_INTERVIEW:
        form = CompleteInterviewForm(request.POST, prefix="complete")
        if not form.is_valid():
            return _render_item(request, item, complete_form=form)
        complete_item(item=item, by=member, outcome=form.outcome_text())
        messages.success(request, "Interview completed")
    elif item.kind in CONTACT_CALL_KINDS:
        complete_contact_call(item=item, by=member)
        messages.success(request, "Call completed")
    elif item.kind == WorkKind.SETTING_REVIEW:
        complete_item(item=item, by=member)
        messages.success(request, "Setting review completed")
    else:  # a follow-up is finished by recording its check-in
        raise Http404
    return redirect("workspace:your_work")


@requires("workqueue.work_item", target=_item)
@require_POST
def hand_back(request: HttpRequest, item: WorkItem, item_id: int) -> HttpResponse:
    release_item(item=item, by=_member(request))
    messages.success(request, "You handed it back to the queue")
    return redirect("workspace:your_work")


# --- supervisors -------------------------------------------------------------------------


def _dashboard(
    request: HttpRequest,
    *,
    failed_item: int | None = None,
    failed_form: ReassignForm | None = None,
) -> HttpResponse:
    member = _member(request)
    show_names = member.has_perm("workqueue.reassign")
    claimed = selectors.claimed_items(show_names=show_names)
    choices: dict[int, list[tuple[str, str]]] = {}
    rows = []
    for line in claimed:
        if show_names and line.tier not in choices:
            choices[line.tier] = selectors.tracer_choices(tier=line.tier)
        options = [
            (ref, name)
            for ref, name in choices.get(line.tier, [])
            if ref != str(line.tracer_reference)
        ]
        form = failed_form if line.item_id == failed_item else None
        rows.append({"line": line, "options": options, "form": form})
    return render(
        request,
        "workspace/dashboard.html",
        {
            "nav": "supervise",
            "tiers": selectors.tier_rows(),
            "teams": selectors.team_rows(),
            "claimed": rows,
            "show_names": show_names,
            "can_search": member.has_perm("people.search_population"),
            "follow_ups": follow_ups_today(),
            "error_form": failed_form,
            "failed_item": failed_item,
        },
    )


@requires("workqueue.view_dashboard")
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    return _dashboard(request)


@requires("workqueue.reassign", target=_item)
@require_POST
def reassign(request: HttpRequest, item: WorkItem | None, item_id: int) -> HttpResponse:
    if item is None or item.state != WorkState.CLAIMED:
        raise Http404
    form = ReassignForm(
        request.POST, prefix=f"item-{item.pk}", tracers=selectors.tracer_choices(tier=item.tier)
    )
    if form.is_valid():
        to = StaffMember.objects.get(reference=form.cleaned_data["to"])
        try:
            reassign_item(item=item, to=to, by=_member(request))
        except ValidationError as exc:
            _add_service_errors(form, exc, elsewhere="to")
        else:
            messages.success(request, f"Item {item.pk} reassigned")
            return redirect("workspace:dashboard")
    return _dashboard(request, failed_item=item.pk, failed_form=form)


@requires("workqueue.export_line_list")
@require_safe
def line_list(request: HttpRequest) -> HttpResponse:
    """Every case as one CSV row, streamed (confide/workspace/line_list.py)."""
    record_line_list_export(by=_member(request))
    response = StreamingHttpResponse(line_list_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="line-list.csv"'
    # StreamingHttpResponse is not an HttpResponse subclass; the decorators only pass it on.
    return response  # type: ignore[return-value]


@requires("people.search_population")
@require_http_methods(["GET", "POST"])
def population_search(request: HttpRequest) -> HttpResponse:
    from confide.people.selectors import search_population

    form = PopulationSearchForm(request.POST or None)
    matches = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            people = search_population(
                by=_member(request),
                purpose=data["purpose"],
                nhs_number=data["nhs_number"],
                phone=data["phone"],
                email=data["email"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc, elsewhere="nhs_number")
        else:
            matches = selectors.search_matches(people)
    return render(
        request,
        "workspace/search.html",
        {"nav": "supervise", "form": form, "matches": matches},
    )


def _person_of(item: WorkItem) -> Person:
    if item.case is not None:
        return item.case.person
    if item.exposure is not None:
        return item.exposure.contact
    raise Http404


@requires("workqueue.work_item", target=_item)
@require_POST
def revoke_self_service(request: HttpRequest, item: WorkItem, item_id: int) -> HttpResponse:
    """Stop the person's online links working (a wrong address, a lost phone, a complaint);
    the person then sees only "this link cannot be used", and the revocation is logged."""
    if item.case is not None:
        revoked = revoke_links(case=item.case, by=_member(request))
    elif item.exposure is not None:
        revoked = revoke_links(exposure=item.exposure, by=_member(request))
    else:
        raise Http404
    messages.success(
        request,
        f"{revoked} online link{'s' if revoked != 1 else ''} stopped"
        if revoked
        else "There was no online link to stop",
    )
    return redirect("workspace:item", item.pk)


@requires("workqueue.work_item", target=_item)
@require_http_methods(["GET", "POST"])
def safeguarding(request: HttpRequest, item: WorkItem, item_id: int) -> HttpResponse:
    """Set or clear a person's safeguarding flags: they change what staff see (an address kept
    back) and how Confide may contact them (phone only, no letters)."""
    person = _person_of(item)
    current = sorted(active_safeguarding(person))
    form = SafeguardingForm(request.POST or None, initial={"flags": current})
    if request.method == "POST" and form.is_valid():
        set_safeguarding_flags(
            person=person,
            kinds=set(form.cleaned_data["flags"]),
            by_reference=_member(request).reference,
        )
        messages.success(request, "Safeguarding flags saved")
        return redirect("workspace:item", item.pk)
    return render(
        request,
        "workspace/safeguarding.html",
        {"nav": "work", "item": item, "form": form, "current": current},
    )
