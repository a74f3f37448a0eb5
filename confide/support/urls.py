from django.urls import path

from confide.support import staff_views, views

app_name = "support"
urlpatterns = [
    # The public side: a verified contact or case (confide.public.access).
    path("support/", views.start, name="start"),
    path(
        "support/apply/employment/", views.question, {"question": "employment"}, name="employment"
    ),
    path(
        "support/apply/work-from-home/",
        views.question,
        {"question": "work_from_home"},
        name="work_from_home",
    ),
    path("support/apply/benefits/", views.question, {"question": "benefit"}, name="benefit"),
    path("support/apply/not-eligible/", views.not_eligible, name="not_eligible"),
    path("support/apply/bank-details/", views.bank_details, name="bank_details"),
    path("support/apply/evidence/", views.evidence, name="evidence"),
    path("support/apply/evidence/remove/", views.remove_evidence, name="remove_evidence"),
    path("support/apply/check/", views.check, name="check"),
    path("support/apply/sent/", views.sent, name="sent"),
    path("support/help/", views.help_request, name="help"),
    path("support/help/sent/", views.help_sent, name="help_sent"),
    # The local authority's side.
    path("local-support/applications/", staff_views.queue, name="queue"),
    path("local-support/applications/<uuid:reference>/", staff_views.review, name="review"),
    path(
        "local-support/applications/<uuid:reference>/bank-details/",
        staff_views.reveal_bank_details,
        name="reveal_bank_details",
    ),
    path(
        "local-support/applications/<uuid:reference>/evidence/<int:evidence_id>/",
        staff_views.evidence_file,
        name="evidence_file",
    ),
    path(
        "local-support/applications/<uuid:reference>/payment/",
        staff_views.payment,
        name="payment",
    ),
    path("local-support/help/", staff_views.help_queue, name="help_queue"),
    path("local-support/help/<uuid:reference>/", staff_views.help_request, name="help_request"),
]
