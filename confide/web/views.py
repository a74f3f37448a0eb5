from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from confide.staff.decorators import public

logger = logging.getLogger(__name__)


@public
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html")


@public
@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and `make run`: the app is up and can reach its database.

    Never cached, so a proxy cannot keep answering "ok" for an instance that has gone down.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        # The exception text can name hosts and users; the log has it, the response does not.
        logger.exception("Health check could not reach the database")
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
