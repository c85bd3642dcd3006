"""Admin for the governed refusal reasons (editable) and read-only views of decisions, visas,
letters and the access log. Decisions are made in the workspace, never here: the services hold
the rules (holder, four eyes, visa terms) and the admin would bypass them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from reviews.models import CaseAccess, Decision, Letter, RefusalReason, Visa
from screening.admin import ReadOnlyAdmin


@admin.register(RefusalReason)
class RefusalReasonAdmin(admin.ModelAdmin):
    list_display = ["code", "label_en", "label_zh", "requires_statement", "is_active", "position"]
    list_editable = ["is_active", "position"]
    list_filter = ["is_active"]
    search_fields = ["code", "label_en", "label_zh"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A code is what old decisions point at; it never changes once saved.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retire a reason (is_active) instead: old decisions keep their meaning


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = [
        "application",
        "outcome",
        "state",
        "decided_by",
        "decided_at",
        "reviewed_by",
        "sampled",
    ]
    list_filter = ["outcome", "state", "sampled"]
    list_select_related = ["application", "decided_by", "reviewed_by"]
    search_fields = ["application__reference"]
    ordering = ["-decided_at"]
    fields = [
        "application",
        "outcome",
        "state",
        "policy_version",
        "decided_by",
        "decided_at",
        "reasons",
        "statement",
        "valid_from",
        "valid_until",
        "entries",
        "max_stay_days",
        "second_review_required",
        "sampled",
        "reviewed_by",
        "reviewed_at",
        "review_comment",
        "final_at",
    ]


@admin.register(Visa)
class VisaAdmin(ReadOnlyAdmin):
    list_display = ["number", "application", "valid_from", "valid_until", "entries", "revoked_at"]
    list_select_related = ["application"]
    search_fields = ["number", "application__reference"]
    exclude = ["verification_token", "passport_digest"]
    ordering = ["-issued_at"]


@admin.register(Letter)
class LetterAdmin(ReadOnlyAdmin):
    list_display = ["application", "kind", "size", "created_at", "notified_at"]
    list_select_related = ["application"]
    search_fields = ["application__reference"]
    exclude = ["file"]
    ordering = ["-created_at"]


@admin.register(CaseAccess)
class CaseAccessAdmin(ReadOnlyAdmin):
    list_display = ["at", "officer", "application", "action", "document"]
    list_select_related = ["officer", "application", "document"]
    list_filter = ["action"]
    search_fields = ["application__reference", "officer__email"]
    ordering = ["-at"]
    verbose_name = _("access to personal data")
