from django.urls import path

from confide.messaging import supervision, views

app_name = "messaging"
urlpatterns = [
    path("messaging/notify/callback", views.notify_callback, name="notify_callback"),
    path("supervise/templates/", supervision.template_list, name="templates"),
    path(
        "supervise/templates/<str:kind>/<str:channel>/<str:language>/",
        supervision.template_edit,
        name="template_edit",
    ),
    path("supervise/messages/new/", supervision.broadcast, name="broadcast"),
]
