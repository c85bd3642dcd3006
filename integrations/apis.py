"""Webhooks API (/api/v1/webhooks/): integration clients manage their endpoints and read their
delivery log. One class per resource path; each handler is permission → parse → one service
or selector → serialize. A client only ever reaches its own endpoints and messages (404 for
anyone else's); officers and applicants are refused (403).
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import api_client_of
from accounts.models import ApiClient
from integrations import api_examples as X
from integrations import selectors, services
from integrations.models import WebhookEndpoint, WebhookMessage
from kvisa.pagination import StrictCursorPagination
from kvisa.schema import answer, body, problems
from ops.idempotency import idempotent
from ops.models import EventType


class IsIntegrationClient(BasePermission):
    """An active integration client's token, whatever its scopes."""

    message = _("Only integration clients manage webhooks.")
    code = "not_an_integration_client"

    def has_permission(self, request: Any, view: Any) -> bool:
        client = api_client_of(request)
        return client is not None and client.is_active


def _client(request: Request) -> ApiClient:
    return cast(ApiClient, api_client_of(request))  # IsIntegrationClient admitted it


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))
    is_active = serializers.BooleanField()
    consecutive_failures = serializers.IntegerField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class NewestFirstPagination(StrictCursorPagination):
    pass


class WebhookEndpointListApi(ListAPIView):
    """The caller's endpoints (GET), or register one (POST: the secret is shown only then)."""

    permission_classes = [IsIntegrationClient]
    serializer_class = WebhookEndpointSerializer
    pagination_class = NewestFirstPagination

    class WebhookEndpointCreateInputSerializer(serializers.Serializer):
        url = serializers.URLField(max_length=2000)
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=EventType.choices), min_length=1
        )

    class WebhookEndpointCreateOutputSerializer(WebhookEndpointSerializer):
        secret = serializers.CharField(
            help_text="The signing secret (Standard Webhooks, whsec_…). Shown only in this "
            "response: keep it to verify webhook-signature."
        )

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return WebhookEndpoint.objects.none()
        return selectors.endpoints_of(client=_client(self.request))

    @extend_schema(
        operation_id="webhooks_endpoints_list",
        examples=[
            answer(X.ENDPOINT, "An endpoint"),
        ],
        responses={200: WebhookEndpointSerializer(many=True), **problems(401, 403)},
        tags=["webhooks"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="webhooks_endpoints_create",
        request=WebhookEndpointCreateInputSerializer,
        responses={
            201: WebhookEndpointCreateOutputSerializer,
            **problems(400, 401, 403, 422),
        },
        examples=[
            answer(X.ENDPOINT_CREATED, "The secret, shown once", status=201),
            OpenApiExample(
                "Follow the cases you filed",
                value={
                    "url": "https://hooks.example.edu/kvisa",
                    "events": ["application.submitted", "case.evidence_requested", "case.decided"],
                },
                request_only=True,
            ),
        ],
        tags=["webhooks"],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.WebhookEndpointCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(client=_client(request), **data.validated_data)
        return Response(
            self.WebhookEndpointCreateOutputSerializer(endpoint).data,
            status=status.HTTP_201_CREATED,
        )


class WebhookEndpointDetailApi(APIView):
    """One endpoint: read it, change it (``is_active: true`` re-enables a disabled one and
    resumes its waiting messages), delete it."""

    permission_classes = [IsIntegrationClient]

    class WebhookEndpointUpdateInputSerializer(serializers.Serializer):
        url = serializers.URLField(max_length=2000, required=False)
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=EventType.choices), min_length=1, required=False
        )
        is_active = serializers.BooleanField(required=False)

    def _endpoint(self, request: Request, endpoint_id: Any) -> WebhookEndpoint:
        return selectors.endpoint_for_client(client=_client(request), endpoint_id=endpoint_id)

    @extend_schema(
        operation_id="webhooks_endpoints_retrieve",
        examples=[
            answer(X.ENDPOINT, "An endpoint"),
        ],
        responses={200: WebhookEndpointSerializer, **problems(401, 403, 404)},
        tags=["webhooks"],
    )
    def get(self, request: Request, endpoint_id: Any) -> Response:
        return Response(WebhookEndpointSerializer(self._endpoint(request, endpoint_id)).data)

    @extend_schema(
        operation_id="webhooks_endpoints_update",
        request=WebhookEndpointUpdateInputSerializer,
        responses={
            200: WebhookEndpointSerializer,
            **problems(400, 401, 403, 404, 422),
        },
        examples=[
            OpenApiExample("Re-enable", value={"is_active": True}, request_only=True),
            body({"events": X.ENDPOINT_UPDATED["events"]}, "Subscribe to one more event"),
            answer(X.ENDPOINT_UPDATED, "Updated"),
        ],
        tags=["webhooks"],
    )
    def patch(self, request: Request, endpoint_id: Any) -> Response:
        endpoint = self._endpoint(request, endpoint_id)
        data = self.WebhookEndpointUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, **data.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        operation_id="webhooks_endpoints_destroy",
        responses={
            204: OpenApiResponse(description="Deleted, with its delivery log."),
            **problems(401, 403, 404),
        },
        tags=["webhooks"],
    )
    def delete(self, request: Request, endpoint_id: Any) -> Response:
        services.webhook_endpoint_delete(endpoint=self._endpoint(request, endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookAttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    duration_ms = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class WebhookMessageSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    webhook_id = serializers.UUIDField(
        source="event.public_id", help_text="The webhook-id header: the same on every attempt."
    )
    type = serializers.ChoiceField(source="event.type", choices=EventType.choices)
    state = serializers.ChoiceField(choices=WebhookMessage.State.choices)
    attempts = serializers.IntegerField(help_text="Attempts in the current round.")
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    log = WebhookAttemptSerializer(many=True, help_text="Every attempt, oldest first.")


class WebhookMessageListApi(ListAPIView):
    """The endpoint's delivery log: messages newest first, each with its attempts."""

    permission_classes = [IsIntegrationClient]
    serializer_class = WebhookMessageSerializer
    pagination_class = NewestFirstPagination

    def get_queryset(self) -> QuerySet[WebhookMessage]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return WebhookMessage.objects.none()
        endpoint = selectors.endpoint_for_client(
            client=_client(self.request), endpoint_id=self.kwargs["endpoint_id"]
        )
        return selectors.messages_of(endpoint=endpoint)

    @extend_schema(
        operation_id="webhooks_endpoints_messages_list",
        examples=[
            answer(X.MESSAGE, "Delivered at the third attempt"),
        ],
        responses={
            200: WebhookMessageSerializer(many=True),
            **problems(401, 403, 404),
        },
        tags=["webhooks"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class WebhookMessageRedeliverApi(APIView):
    """Deliver a message again, from attempt 1 (202: queued). 409 while the endpoint is off."""

    permission_classes = [IsIntegrationClient]

    @extend_schema(
        operation_id="webhooks_messages_redeliver",
        examples=[
            answer(X.REDELIVERED, "Queued from attempt 1", status=202),
        ],
        request=None,
        responses={
            202: WebhookMessageSerializer,
            **problems(401, 403, 404, 409),
        },
        tags=["webhooks"],
    )
    @idempotent
    def post(self, request: Request, message_id: Any) -> Response:
        message = selectors.message_for_client(client=_client(request), message_id=message_id)
        services.webhook_message_redeliver(message=message)
        message = selectors.messages_of(endpoint=message.endpoint).get(pk=message.pk)
        return Response(WebhookMessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)
