"""GOV.UK Notify's delivery-status callbacks (authenticated by the bearer token set in Notify)."""

from __future__ import annotations

import hmac
import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from confide.messaging.services import record_delivery_status
from confide.staff.decorators import public


@public
@csrf_exempt  # a server-to-server callback, authenticated by its bearer token instead
@require_POST
def notify_callback(request: HttpRequest) -> HttpResponse:
    expected = settings.CONFIDE_NOTIFY_CALLBACK_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return JsonResponse({"error": "unauthorised"}, status=401)
    try:
        payload = json.loads(request.body)
        reference = str(payload["reference"])
        status = str(payload["status"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "expected JSON with reference and status"}, status=400)
    found = record_delivery_status(reference=reference, provider_status=status)
    return JsonResponse({"recorded": found}, status=200 if found else 404)
