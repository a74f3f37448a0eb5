from django.urls import path

from confide.workspace import follow_up_views, views

app_name = "workspace"
urlpatterns = [
    path("work/", views.your_work, name="your_work"),
    path("work/next/", views.claim_next_item, name="claim_next"),
    path("work/items/<int:item_id>/", views.item_page, name="item"),
    path("work/items/<int:item_id>/calls/", views.record_call_attempt, name="record_call"),
    path("work/items/<int:item_id>/contacts/add/", views.add_contact, name="add_contact"),
    path("work/items/<int:item_id>/places/add/", views.add_place_visited, name="add_place"),
    path("work/items/<int:item_id>/escalate/", views.escalate, name="escalate"),
    path("work/items/<int:item_id>/safeguarding/", views.safeguarding, name="safeguarding"),
    path(
        "work/items/<int:item_id>/self-service/revoke/",
        views.revoke_self_service,
        name="revoke_self_service",
    ),
    path("work/items/<int:item_id>/complete/", views.complete, name="complete"),
    path("work/items/<int:item_id>/hand-back/", views.hand_back, name="hand_back"),
    path("work/follow-ups/", follow_up_views.follow_ups, name="follow_ups"),
    path(
        "work/follow-ups/next/",
        follow_up_views.claim_next_follow_up,
        name="claim_next_follow_up",
    ),
    path("work/follow-ups/<int:item_id>/", follow_up_views.follow_up, name="follow_up"),
    path("supervise/", views.dashboard, name="dashboard"),
    path("supervise/items/<int:item_id>/reassign/", views.reassign, name="reassign"),
    path("supervise/search/", views.population_search, name="search"),
    path("supervise/line-list.csv", views.line_list, name="line_list"),
]
