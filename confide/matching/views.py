"""Supervisors' match review pages: thin — parse, call a service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from confide.matching import selectors
from confide.matching.forms import Decision, MatchDecisionForm, UndoMergeForm
from confide.matching.models import MatchReview, Merge
from confide.matching.services import (
    MergeAlreadyUndone,
    ReviewAlreadyDecided,
    merge_people,
    separate_people,
    undo_merge,
)
from confide.staff.decorators import requires
from confide.staff.models import StaffMember
from confide.web.keyset import InvalidCursor

PERMISSION = "matching.review_matches"


def _member(request: HttpRequest) -> StaffMember:
    user = request.user
    assert isinstance(user, StaffMember)
    return user


def _review(request: HttpRequest, review_id: int, **_: Any) -> MatchReview | None:
    return selectors.open_review_or_none(review_id)


def _merge(request: HttpRequest, merge_id: int, **_: Any) -> Merge | None:
    return selectors.merge_in_force_or_none(merge_id)


def _add_errors(form: Any, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@requires(PERMISSION)
@require_http_methods(["GET"])
def review_queue(request: HttpRequest) -> HttpResponse:
    try:
        reviews = selectors.open_reviews(after=request.GET.get("after"))
    except InvalidCursor as exc:
        raise Http404 from exc
    return render(
        request,
        "matching/queue.html",
        {
            "nav": "supervise",
            "reviews": reviews,
            "merges": list(selectors.recent_merges()),
        },
    )


@requires(PERMISSION, target=_review)
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, match: MatchReview | None, review_id: int) -> HttpResponse:
    if match is None:
        raise Http404
    form = MatchDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        decide = merge_people if data["decision"] == Decision.SAME else separate_people
        try:
            decide(review=match, by=_member(request), reason=data["reason"])
        except ValidationError as exc:
            _add_errors(form, exc)
        except ReviewAlreadyDecided:
            messages.info(request, f"Match {match.pk} was already decided by someone else")
            return redirect("matching:queue")
        else:
            done = "merged" if data["decision"] == Decision.SAME else "kept as different people"
            messages.success(request, f"Match {match.pk} {done}")
            return redirect("matching:queue")
    comparison = selectors.compare_people(match, by=_member(request))
    return render(
        request,
        "matching/review.html",
        {"nav": "supervise", "review": match, "comparison": comparison, "form": form},
    )


@requires(PERMISSION, target=_merge)
@require_http_methods(["GET", "POST"])
def undo(request: HttpRequest, merge: Merge | None, merge_id: int) -> HttpResponse:
    if merge is None:
        raise Http404
    form = UndoMergeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            undo_merge(merge=merge, by=_member(request), reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _add_errors(form, exc)
        except MergeAlreadyUndone:
            messages.info(request, f"Merge {merge.pk} was already undone")
            return redirect("matching:queue")
        else:
            messages.success(
                request, f"Merge {merge.pk} undone: both records are back as they were"
            )
            return redirect("matching:queue")
    moved = {kind: len(ids) for kind, ids in merge.moved.items()}
    return render(
        request,
        "matching/undo.html",
        {"nav": "supervise", "merge": merge, "moved": moved, "form": form},
    )
