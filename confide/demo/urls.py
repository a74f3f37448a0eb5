from django.urls import path

from confide.demo import views

app_name = "demo"
urlpatterns = [path("demo/sent-mail/", views.sent_mail, name="sent_mail")]
