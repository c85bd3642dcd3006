from django.urls import path

from applications import views

app_name = "applications"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/", views.start, name="start"),
    path("my-data.json", views.export, name="export"),
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/step/<slug:step>/", views.step, name="step"),
    path("<uuid:public_id>/review/", views.review, name="review"),
    path("<uuid:public_id>/submitted/", views.submitted, name="submitted"),
    path("<uuid:public_id>/withdraw/", views.withdraw, name="withdraw"),
    path(
        "<uuid:public_id>/documents/<uuid:document_id>/", views.document_download, name="document"
    ),
    path(
        "<uuid:public_id>/documents/<uuid:document_id>/delete/",
        views.document_delete,
        name="document_delete",
    ),
    path("<uuid:public_id>/evidence/<uuid:request_id>/", views.evidence_answer, name="evidence"),
    path("<uuid:public_id>/review-request/", views.review_request, name="review_request"),
    path("confirm/<str:token>/", views.confirm_filed, name="confirm_filed"),
]
