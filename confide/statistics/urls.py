from django.urls import path

from confide.statistics import views

app_name = "statistics"

urlpatterns = [
    path("statistics/", views.weekly, name="weekly"),
    path("statistics/weekly.csv", views.weekly_csv, name="weekly_csv"),
    path("statistics/weekly.json", views.weekly_json, name="weekly_json"),
]
