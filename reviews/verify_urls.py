"""The public visa check, included at /verify/ (no namespace: letters link to it by "verify")."""

from django.urls import path

from reviews import public_views

urlpatterns = [
    path("<str:token>/", public_views.visa_verify, name="verify"),
]
