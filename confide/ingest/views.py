"""Supervisors' pages for imports: the runs with their counts, and each run's error report."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from confide.ingest.selectors import error_report_lines, recent_runs, run_by_reference
from confide.staff.decorators import requires
from confide.web.keyset import InvalidCursor


@requires("ingest.view_import_runs")
@require_safe
def import_runs(request: HttpRequest) -> HttpResponse:
    try:
        runs = recent_runs(after=request.GET.get("after"))
    except InvalidCursor as exc:
        raise Http404 from exc
    return render(request, "ingest/runs.html", {"runs": runs, "nav": "supervise"})


@requires("ingest.view_import_runs")
@require_safe
def error_report(request: HttpRequest, reference: uuid.UUID) -> HttpResponse:
    run = run_by_reference(str(reference))
    if run is None:
        raise Http404
    response = StreamingHttpResponse(error_report_lines(run), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="import-{run.reference}-errors.csv"'
    # StreamingHttpResponse is not an HttpResponse subclass; the decorators only pass it on.
    return response  # type: ignore[return-value]
