"""/api/v1/ routes of the officer API (reviews.apis)."""

from django.urls import path

from reviews import apis

urlpatterns = [
    path("queues/", apis.QueueListApi.as_view(), name="api-queues"),
    path("queues/<slug:code>/claim/", apis.ClaimNextApi.as_view(), name="api-queue-claim"),
    path("cases/", apis.CaseListApi.as_view(), name="api-cases"),
    path("cases/<str:reference>/", apis.CaseDetailApi.as_view(), name="api-case"),
    path("cases/<str:reference>/release/", apis.ReleaseApi.as_view(), name="api-case-release"),
    path("cases/<str:reference>/timeline/", apis.TimelineApi.as_view(), name="api-case-timeline"),
    path("cases/<str:reference>/notes/", apis.NotesApi.as_view(), name="api-case-notes"),
    path(
        "cases/<str:reference>/documents/<uuid:document_id>/",
        apis.DocumentDownloadApi.as_view(),
        name="api-case-document",
    ),
    path(
        "cases/<str:reference>/evidence-requests/",
        apis.EvidenceRequestCreateApi.as_view(),
        name="api-case-evidence",
    ),
    path(
        "cases/<str:reference>/decisions/",
        apis.DecisionCreateApi.as_view(),
        name="api-case-decisions",
    ),
    path("visas/verify/", apis.VisaVerifyApi.as_view(), name="api-visa-verify"),
    path("stats/", apis.StatisticsApi.as_view(), name="api-statistics"),
    path(
        "decisions/<uuid:decision_id>/second-review/",
        apis.SecondReviewApi.as_view(),
        name="api-decision-second-review",
    ),
]
