from django.urls import path

from confide.workspace import views

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
    path("work/items/<int:item_id>/complete/", views.complete, name="complete"),
    path("work/items/<int:item_id>/hand-back/", views.hand_back, name="hand_back"),
    path("supervise/", views.dashboard, name="dashboard"),
    path("supervise/items/<int:item_id>/reassign/", views.reassign, name="reassign"),
    path("supervise/search/", views.population_search, name="search"),
]
