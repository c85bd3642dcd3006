"""/api/v1/webhooks/ routes (integrations.apis)."""

from django.urls import path

from integrations import apis, filing_apis

urlpatterns = [
    path("applications/", filing_apis.ApplicationFileApi.as_view(), name="api-applications"),
    path(
        "applications/<uuid:application_id>/",
        filing_apis.FiledApplicationApi.as_view(),
        name="api-application",
    ),
    path(
        "applications/<uuid:application_id>/documents/",
        filing_apis.FiledDocumentApi.as_view(),
        name="api-application-documents",
    ),
    path(
        "applications/<uuid:application_id>/invitation/",
        filing_apis.InvitationApi.as_view(),
        name="api-application-invitation",
    ),
    path(
        "webhooks/endpoints/", apis.WebhookEndpointListApi.as_view(), name="api-webhook-endpoints"
    ),
    path(
        "webhooks/endpoints/<uuid:endpoint_id>/",
        apis.WebhookEndpointDetailApi.as_view(),
        name="api-webhook-endpoint",
    ),
    path(
        "webhooks/endpoints/<uuid:endpoint_id>/messages/",
        apis.WebhookMessageListApi.as_view(),
        name="api-webhook-messages",
    ),
    path(
        "webhooks/messages/<uuid:message_id>/redeliver/",
        apis.WebhookMessageRedeliverApi.as_view(),
        name="api-webhook-redeliver",
    ),
]
