"""Admin for webhooks: read-only views of endpoints, messages and their attempts, with actions
that go through the services (redeliver, re-enable). Endpoints are registered by clients
through the API, where their URL is checked; the admin never shows a secret."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integrations import services
from integrations.models import (
    ApplicationFiling,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)
from ops.models import OutboxEvent
from screening.admin import ReadOnlyAdmin

REDELIVER_PERMISSION = "integrations.change_webhookmessage"


def _redeliver(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[WebhookMessage]
) -> None:
    done = skipped = 0
    for message in queryset.select_related("endpoint"):
        try:
            services.webhook_message_redeliver(message=message)
        except services.EndpointInactive:
            skipped += 1
        else:
            done += 1
    model_admin.message_user(
        request,
        ngettext(
            "%(count)d message queued for redelivery.",
            "%(count)d messages queued for redelivery.",
            done,
        )
        % {"count": done},
        level=messages.SUCCESS,
    )
    if skipped:
        model_admin.message_user(
            request,
            _("%(count)d skipped: their endpoint is disabled.") % {"count": skipped},
            level=messages.WARNING,
        )


ATTEMPT_FIELDS = ("number", "at", "status_code", "error", "duration_ms", "next_attempt_at")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ATTEMPT_FIELDS
    readonly_fields = ATTEMPT_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookMessage)
class WebhookMessageAdmin(ReadOnlyAdmin):
    list_display = ["event", "endpoint", "state", "attempts", "next_attempt_at", "delivered_at"]
    list_filter = ["state", "event__type"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["public_id", "event__public_id", "endpoint__url"]
    ordering = ["-created_at"]
    fields = [
        "public_id",
        "endpoint",
        "event",
        "state",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    ]
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REDELIVER_PERMISSION)

    @admin.action(description=_("Redeliver"), permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookMessage]) -> None:
        _redeliver(self, request, queryset)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = [
        "url",
        "client",
        "is_active",
        "consecutive_failures",
        "disabled_at",
        "created_at",
    ]
    list_filter = ["is_active"]
    list_select_related = ["client"]
    search_fields = ["url", "client__name"]
    ordering = ["-created_at"]
    # Never the secret. All read-only, so no form field is built for them at all.
    fields = readonly_fields = (
        "public_id",
        "client",
        "url",
        "events",
        "is_active",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "updated_at",
    )
    actions = ["redeliver", "reenable"]

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REDELIVER_PERMISSION)

    @admin.action(description=_("Redeliver the failed messages"), permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        failed = WebhookMessage.objects.filter(
            endpoint__in=queryset, state=WebhookMessage.State.FAILED
        )
        _redeliver(self, request, failed)

    @admin.action(description=_("Re-enable"), permissions=["redeliver"])
    def reenable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset.filter(is_active=False):
            services.webhook_endpoint_update(endpoint=endpoint, is_active=True)
            self.log_change(request, endpoint, str(_("Re-enabled.")))


@admin.register(ApplicationFiling)
class ApplicationFilingAdmin(ReadOnlyAdmin):
    list_display = ["application", "client", "created_at"]
    list_select_related = ["application", "client"]
    search_fields = ["application__reference", "client__name"]


# ops has no admin of its own (the admin base classes live above it).
@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ["type", "public_id", "application_id", "created_at", "dispatched_at"]
    list_filter = ["type"]
    search_fields = ["public_id"]
    ordering = ["-created_at"]
