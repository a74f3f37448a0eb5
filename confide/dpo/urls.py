from django.urls import path

from confide.dpo import rights_views, views

app_name = "dpo"
urlpatterns = [
    path("dpo/", views.office, name="office"),
    path("dpo/records-of-processing/", views.records_of_processing, name="records_of_processing"),
    path("dpo/breaches/new/", views.breach_new, name="breach_new"),
    path("dpo/breaches/<uuid:reference>/", views.breach, name="breach"),
    path("dpo/breaches/<uuid:reference>/close/", views.breach_close, name="breach_close"),
    path("dpo/breaches/<uuid:reference>/report/", views.breach_report, name="breach_report"),
    path(
        "dpo/breaches/<uuid:reference>/report.json",
        views.breach_report_json,
        name="breach_report_json",
    ),
    path("dpo/disclosures/new/", views.disclosure_new, name="disclosure_new"),
    path("dpo/disclosures/<uuid:reference>/", views.disclosure, name="disclosure"),
    path(
        "dpo/disclosures/<uuid:reference>/approve/",
        views.disclosure_approve,
        name="disclosure_approve",
    ),
    path(
        "dpo/disclosures/<uuid:reference>/second-approval/",
        views.disclosure_second_approval,
        name="disclosure_second_approval",
    ),
    path(
        "dpo/disclosures/<uuid:reference>/produce/",
        views.disclosure_produce,
        name="disclosure_produce",
    ),
    path("dpo/subject-access/", rights_views.subject_access_new, name="subject_access_new"),
    path(
        "dpo/subject-access/<uuid:reference>/",
        rights_views.subject_access,
        name="subject_access",
    ),
    path(
        "dpo/subject-access/<uuid:reference>/export.json",
        rights_views.subject_access_json,
        name="subject_access_json",
    ),
    path(
        "dpo/subject-access/<uuid:reference>/rectify/",
        rights_views.subject_access_rectify,
        name="subject_access_rectify",
    ),
    path(
        "dpo/subject-access/<uuid:reference>/erase/",
        rights_views.subject_access_erase,
        name="subject_access_erase",
    ),
]
