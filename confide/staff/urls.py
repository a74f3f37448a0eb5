from django.urls import path

from confide.staff import passkey_views, views

app_name = "staff"
urlpatterns = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/two-factor/", views.two_factor, name="two_factor"),
    path("sign-in/set-up-two-factor/", views.set_up_two_factor, name="set_up_two_factor"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("sign-in/passkey/", passkey_views.passkey_sign_in, name="passkey_sign_in"),
    path("account/security/", passkey_views.security, name="security"),
    path("account/security/passkeys/", passkey_views.add_passkey, name="add_passkey"),
    path(
        "account/security/passkeys/<int:passkey_id>/remove/",
        passkey_views.remove,
        name="remove_passkey",
    ),
]
