"""The applicant's side of a decision, included at /applications/ beside applications.urls
(which may not import reviews)."""

from django.urls import path

from reviews import public_views

app_name = "decisions"
urlpatterns = [
    path("<uuid:public_id>/letter/", public_views.letter_download, name="letter"),
]
