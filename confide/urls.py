from django.urls import include, path

urlpatterns = [
    path("", include("confide.web.urls")),
]
