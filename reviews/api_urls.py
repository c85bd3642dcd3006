"""/api/v1/ routes of the officer API (reviews.apis)."""

from django.urls import path

from reviews.apis import cases, decisions, queues, statistics, visas

urlpatterns = [
    path("queues/", queues.QueueListApi.as_view(), name="api-queues"),
    path("queues/<slug:code>/claim/", queues.ClaimNextApi.as_view(), name="api-queue-claim"),
    path("cases/", cases.CaseListApi.as_view(), name="api-cases"),
    path("cases/<str:reference>/", cases.CaseDetailApi.as_view(), name="api-case"),
    path("cases/<str:reference>/release/", cases.ReleaseApi.as_view(), name="api-case-release"),
    path("cases/<str:reference>/timeline/", cases.TimelineApi.as_view(), name="api-case-timeline"),
    path("cases/<str:reference>/notes/", cases.NotesApi.as_view(), name="api-case-notes"),
    path(
        "cases/<str:reference>/documents/<uuid:document_id>/",
        cases.DocumentDownloadApi.as_view(),
        name="api-case-document",
    ),
    path(
        "cases/<str:reference>/evidence-requests/",
        decisions.EvidenceRequestCreateApi.as_view(),
        name="api-case-evidence",
    ),
    path(
        "cases/<str:reference>/decisions/",
        decisions.DecisionCreateApi.as_view(),
        name="api-case-decisions",
    ),
    path("visas/verify/", visas.VisaVerifyApi.as_view(), name="api-visa-verify"),
    path("stats/", statistics.StatisticsApi.as_view(), name="api-statistics"),
    path(
        "decisions/<uuid:decision_id>/second-review/",
        decisions.SecondReviewApi.as_view(),
        name="api-decision-second-review",
    ),
]
