from django.urls import path

from confide.ingest import views

app_name = "ingest"
urlpatterns = [
    path("supervise/imports/", views.import_runs, name="runs"),
    path("supervise/imports/<uuid:reference>/errors.csv", views.error_report, name="errors"),
]
