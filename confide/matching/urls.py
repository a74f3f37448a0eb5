from django.urls import path

from confide.matching import views

app_name = "matching"
urlpatterns = [
    path("supervise/matches/", views.review_queue, name="queue"),
    path("supervise/matches/<int:review_id>/", views.review, name="review"),
    path("supervise/matches/merges/<int:merge_id>/undo/", views.undo, name="undo"),
]
