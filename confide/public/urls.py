from django.urls import path

from confide.public import views

app_name = "public"
urlpatterns = [
    path("p/<str:token>/", views.start, name="start"),
    path("p/<str:token>/code/", views.enter_code, name="code"),
    path("self-service/", views.case_overview, name="case"),
    path("self-service/symptoms/", views.case_symptoms, name="case_symptoms"),
    path("self-service/places/add/", views.case_add_place, name="case_add_place"),
    path("self-service/contacts/add/", views.case_add_contact, name="case_add_contact"),
    path("self-service/remove/", views.case_remove, name="case_remove"),
    path("self-service/submit/", views.case_submit, name="case_submit"),
    path("self-service/sent/", views.case_done, name="case_done"),
    path("your-isolation/", views.contact, name="contact"),
    path("your-isolation/sign-out/", views.sign_out, name="sign_out"),
    path("signed-out/", views.signed_out, name="signed_out"),
    path("language/<str:language>/", views.choose_language, name="language"),
]
