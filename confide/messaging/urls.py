from django.urls import path

from confide.messaging import views

app_name = "messaging"
urlpatterns = [
    path("messaging/notify/callback", views.notify_callback, name="notify_callback"),
]
