"""Supervisor pages for policy simulations."""

from django.urls import path

from screening import views

app_name = "screening"
urlpatterns = [
    path("", views.simulation_list, name="simulation_list"),
    path("<uuid:public_id>/", views.simulation_detail, name="simulation_detail"),
]
