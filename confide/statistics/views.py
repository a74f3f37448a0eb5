from __future__ import annotations

import csv

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from confide.staff.decorators import public
from confide.statistics.chart import cases_transferred_chart
from confide.statistics.selectors import PUBLISHED_FIELDS, latest_publication, published_rows
from confide.statistics.suppression import SMALLEST_PUBLISHED, SUPPRESSED

# A publication changes once a week; a few minutes' staleness is fine and spares the server.
PUBLIC_CACHE = cache_control(public=True, max_age=300)


@public
@require_safe
@PUBLIC_CACHE
def weekly(request: HttpRequest) -> HttpResponse:
    publication = latest_publication()
    context: dict[str, object] = {
        "publication": publication,
        "suppressed": SUPPRESSED,
        "smallest_published": SMALLEST_PUBLISHED,
    }
    if publication is not None:
        rows = published_rows(publication)
        context |= {
            "weeks": rows[:-1],
            "all_weeks": rows[-1],
            "chart": cases_transferred_chart(rows),
        }
    return render(request, "statistics/weekly.html", context)


@public
@require_safe
@PUBLIC_CACHE
def weekly_csv(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="confide-weekly-statistics.csv"'
    writer = csv.writer(response)
    writer.writerow(["week", "week_starts_on", *PUBLISHED_FIELDS])
    publication = latest_publication()
    for row in published_rows(publication) if publication is not None else []:
        writer.writerow(["" if value is None else value for value in row.as_dict().values()])
    return response


@public
@require_safe
@PUBLIC_CACHE
def weekly_json(request: HttpRequest) -> JsonResponse:
    publication = latest_publication()
    return JsonResponse(
        {
            "suppressed_marker": SUPPRESSED,
            "note": (
                f"Counts from 1 to {SMALLEST_PUBLISHED - 1}, and figures that would let them be "
                f"worked out, are shown as {SUPPRESSED}. null means there is nothing to measure."
            ),
            "published_at": publication.published_at.isoformat() if publication else None,
            "newest_week": publication.week if publication else None,
            "method": publication.method if publication else None,
            "weeks": [row.as_dict() for row in published_rows(publication)] if publication else [],
        }
    )
