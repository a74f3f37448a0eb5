from django.urls import path

from confide.staff import views

app_name = "staff"
urlpatterns = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/two-factor/", views.two_factor, name="two_factor"),
    path("sign-in/set-up-two-factor/", views.set_up_two_factor, name="set_up_two_factor"),
    path("sign-out/", views.sign_out, name="sign_out"),
]
