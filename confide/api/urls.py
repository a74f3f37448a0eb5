from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path

from confide.api import health
from confide.api.api import api
from confide.api.errors import problem_response


def no_such_operation(request: HttpRequest, **kwargs: str) -> HttpResponse:
    """Anything under /api/ that is no operation: a problem+json 404, not the HTML page."""
    return problem_response(status=404, detail="No such API operation.", kind="not-found")


api_patterns, api_app_name, api_namespace = api.urls

urlpatterns = [
    path("readyz", health.readyz, name="readyz"),
    path(
        "api/",
        (
            [*api_patterns, re_path(r"^.*$", no_such_operation, name="no-such-operation")],
            api_app_name,
            api_namespace,
        ),
    ),
]
