from django.urls import include, path

urlpatterns = [
    path("", include("confide.web.urls")),
    path("", include("confide.staff.urls")),
    path("", include("confide.workspace.urls")),
    path("", include("confide.dpo.urls")),
    path("", include("confide.matching.urls")),
    path("", include("confide.messaging.urls")),
    path("", include("confide.ingest.urls")),
    path("", include("confide.demo.urls")),
    path("", include("confide.api.urls")),
    path("", include("confide.statistics.urls")),
    path("", include("confide.support.urls")),
    path("", include("confide.public.urls")),
    path("", include("confide.observability.urls")),
]
