from django.urls import path

from confide.observability import views

urlpatterns = [path("metrics", views.metrics, name="metrics")]
