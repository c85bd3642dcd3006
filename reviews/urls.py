"""The officer workspace, under /workspace/. tests/reviews/test_roles.py checks every name here
against every role, so a new URL without its access row fails the suite."""

from django.urls import path

from reviews import views

app_name = "reviews"
urlpatterns = [
    path("", views.workspace_home, name="home"),
    path("queues/<slug:code>/", views.queue_detail, name="queue"),
    path("queues/<slug:code>/claim/", views.queue_claim, name="claim"),
    path("cases/<str:reference>/", views.case_detail, name="case"),
    path("cases/<str:reference>/release/", views.case_release, name="release"),
    path("cases/<str:reference>/reassign/", views.case_reassign, name="reassign"),
    path("cases/<str:reference>/notes/", views.case_note_add, name="note_add"),
    path("cases/<str:reference>/evidence/", views.case_evidence_request, name="evidence_request"),
    path("cases/<str:reference>/decide/", views.case_decide, name="decide"),
    path(
        "cases/<str:reference>/second-review/<uuid:decision_id>/",
        views.case_second_review,
        name="second_review_decide",
    ),
    path(
        "cases/<str:reference>/documents/<uuid:document_id>/",
        views.case_document,
        name="document",
    ),
    path("cases/<str:reference>/letter/", views.case_letter, name="letter"),
    path("second-review/", views.second_review_list, name="second_review"),
    path("audit/", views.audit, name="audit"),
    path("audit/access/", views.access_log, name="access_log"),
    path("tokens/", views.api_tokens, name="api_tokens"),
    path("tokens/new/", views.api_token_create, name="api_token_create"),
    path("tokens/revoke/", views.api_token_revoke, name="api_token_revoke"),
]
