"""/api/v1/webhooks/ routes (integrations.apis)."""

from django.urls import path

from integrations import apis

urlpatterns = [
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
