from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from confide.observability.metrics import registry_for_scrape
from confide.staff.decorators import public


@public
@require_safe
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape, for a bearer token only (CONFIDE_METRICS_TOKEN); without one set, the
    page does not exist. A loopback-only rule would open it to everyone behind a proxy on the
    same machine, where every request arrives from 127.0.0.1."""
    expected = settings.CONFIDE_METRICS_TOKEN
    if not expected:
        raise Http404
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        response = HttpResponse("A metrics token is needed.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry_for_scrape()), content_type=CONTENT_TYPE_LATEST)
