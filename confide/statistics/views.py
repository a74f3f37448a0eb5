from __future__ import annotations

import csv

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from confide.staff.decorators import public
from confide.statistics.chart import cases_transferred_chart
from confide.statistics.selectors import PUBLISHED_FIELDS, weekly_figures
from confide.statistics.suppression import SMALLEST_PUBLISHED, SUPPRESSED

# Figures change as cases move on; a few minutes' staleness is fine and spares the database.
PUBLIC_CACHE = cache_control(public=True, max_age=300)


@public
@require_safe
@PUBLIC_CACHE
def weekly(request: HttpRequest) -> HttpResponse:
    rows = weekly_figures()
    return render(
        request,
        "statistics/weekly.html",
        {
            "weeks": [row for row in rows if row.week != "all"],
            "all_weeks": rows[-1],
            "chart": cases_transferred_chart(rows),
            "suppressed": SUPPRESSED,
            "smallest_published": SMALLEST_PUBLISHED,
        },
    )


@public
@require_safe
@PUBLIC_CACHE
def weekly_csv(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="confide-weekly-statistics.csv"'
    writer = csv.writer(response)
    writer.writerow(["week", "week_starts_on", *PUBLISHED_FIELDS])
    for row in weekly_figures():
        record = row.as_dict()
        writer.writerow(["" if value is None else value for value in record.values()])
    return response


@public
@require_safe
@PUBLIC_CACHE
def weekly_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "suppressed_marker": SUPPRESSED,
            "note": (
                f"Counts from 1 to {SMALLEST_PUBLISHED - 1}, and figures that would let them be "
                f"worked out, are shown as {SUPPRESSED}. null means there is nothing to measure."
            ),
            "weeks": [row.as_dict() for row in weekly_figures()],
        }
    )
