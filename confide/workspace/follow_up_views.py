"""Daily follow-up calls for call handlers (tier 3): today's queue, and the check-in form for
the one contact they hold. Claims go through `claim_next`, so no two call handlers ever get
the same check."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from confide.staff.decorators import requires
from confide.staff.models import StaffMember
from confide.tracing.follow_up import FollowUpClosed, record_check_in
from confide.tracing.models import FollowUpOutcome
from confide.workqueue.models import WorkItem, WorkKind
from confide.workqueue.services import claim_next, current_claim
from confide.workspace import follow_up_selectors as selectors
from confide.workspace.follow_up_forms import CheckInForm

CONSEQUENCES = {
    FollowUpOutcome.WELL: "Check-in recorded.",
    FollowUpOutcome.SYMPTOMS: (
        "Check-in recorded. We will tell them to book a test, and a clinician will call them."
    ),
    FollowUpOutcome.NEEDS_SUPPORT: (
        "Check-in recorded. A call handler will refer them to local support."
    ),
    FollowUpOutcome.UNREACHABLE: "Check-in recorded as missed.",
}


def _member(request: HttpRequest) -> StaffMember:
    user = request.user
    assert isinstance(user, StaffMember)  # `requires` has checked the sign-in
    return user


def _follow_up_item(request: HttpRequest, item_id: int) -> WorkItem | None:
    return (
        WorkItem.objects.select_related("exposure__contact__data_key", "follow_up")
        .filter(pk=item_id, kind=WorkKind.FOLLOW_UP)
        .first()
    )


@requires("tracing.follow_up")
@require_safe
def follow_ups(request: HttpRequest) -> HttpResponse:
    held = current_claim(_member(request))
    return render(
        request,
        "workspace/follow_ups.html",
        {
            "nav": "work",
            "held": held,
            "held_follow_up": held is not None and held.kind == WorkKind.FOLLOW_UP,
            "today": selectors.follow_ups_today(),
            "queue": selectors.follow_up_queue(),
        },
    )


@requires("tracing.follow_up")
@require_POST
def claim_next_follow_up(request: HttpRequest) -> HttpResponse:
    item = claim_next(tracer=_member(request), kind=WorkKind.FOLLOW_UP)
    if item is None:
        messages.info(request, "There are no follow-up calls waiting. Try again shortly.")
        return redirect("workspace:follow_ups")
    if item.kind != WorkKind.FOLLOW_UP:
        messages.info(request, "Finish the work you hold before you take a follow-up call.")
        return redirect("workspace:item", item_id=item.pk)
    return redirect("workspace:follow_up", item_id=item.pk)


@requires("workqueue.work_item", target=_follow_up_item)
@require_http_methods(["GET", "POST"])
def follow_up(request: HttpRequest, item: WorkItem, item_id: int) -> HttpResponse:
    if item.follow_up is None:
        raise Http404
    member = _member(request)
    form = CheckInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = form.cleaned_data["outcome"]
        try:
            record_check_in(
                item=item,
                outcome=outcome,
                symptom_onset=form.cleaned_data["symptom_onset"],
                by=member,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else "outcome", error)
        except FollowUpClosed:
            messages.info(request, "This check-in was already recorded, or its day has passed.")
            return redirect("workspace:follow_ups")
        else:
            messages.success(request, CONSEQUENCES[FollowUpOutcome(outcome)])
            return redirect("workspace:follow_ups")
    return render(
        request,
        "workspace/follow_up.html",
        {
            "nav": "work",
            "item": item,
            "call": selectors.follow_up_call(item=item, by=member),
            "form": form,
        },
    )
