"""Read-only admin for screening results and queue contents.

Both are written only by the pipeline and the review services (with their timeline rows), so
the admin looks and never touches: no add, change or delete.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from policy.engine import explanation_in_active_language
from screening.models import QueueEntry, Screening


def _application_link(application: Any) -> SafeString | str:
    label = application.reference or str(application)
    url = reverse("admin:applications_application_change", args=[application.pk])
    return format_html('<a href="{}">{}</a>', url, label)


def _yes_no(value: bool | None) -> str:
    if value is None:
        return "-"
    return str(_("yes") if value else _("no"))


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False  # counting every row of a busy table on each page is not free

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Screening)
class ScreeningAdmin(ReadOnlyAdmin):
    list_display = [
        "application_reference",
        "policy_version",
        "eligible",
        "points",
        "fast_track",
        "queue",
        "is_current",
        "created_at",
    ]
    list_select_related = ["application", "policy_version", "queue"]
    list_filter = ["is_current", "eligible", "fast_track", "trigger", "queue"]
    search_fields = ["application__reference"]
    date_hierarchy = "created_at"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "application_reference",
                    "policy_version",
                    "trigger",
                    "is_current",
                    "actor",
                    "created_at",
                    "attempts",
                ]
            },
        ),
        (_("Completeness"), {"fields": ["completeness_at", "complete", "missing_items"]}),
        (
            _("Eligibility"),
            {"fields": ["eligibility_at", "eligible", "points", "fast_track", "rules"]},
        ),
        (_("Integrity"), {"fields": ["integrity_at", "flag_list"]}),
        (_("Routing"), {"fields": ["routed_at", "queue", "routing_display"]}),
        (_("Facts evaluated"), {"fields": ["facts_display"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        "application_reference",
        "missing_items",
        "rules",
        "flag_list",
        "routing_display",
        "facts_display",
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        return (
            super()
            .get_queryset(request)
            .select_related("application", "policy_version", "queue", "actor")
        )

    @admin.display(description=_("application"), ordering="application__reference")
    def application_reference(self, obj: Screening) -> SafeString | str:
        return _application_link(obj.application)

    @admin.display(description=_("missing"))
    def missing_items(self, obj: Screening) -> SafeString | str:
        if not obj.missing:
            return "-"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}: {}</li>",
                ((m.get("step", ""), explanation_in_active_language(m)) for m in obj.missing),
            ),
        )

    @admin.display(description=_("rules"))
    def rules(self, obj: Screening) -> SafeString | str:
        rules = (obj.evaluation or {}).get("rules", [])
        if not rules:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    r.get("code", ""),
                    r.get("kind", ""),
                    _yes_no(r.get("passed")),
                    "-"
                    if r.get("points") is None
                    else f"{r['points']} / {r.get('max_points') or 0}",
                    explanation_in_active_language(r.get("explanation")),
                )
                for r in rules
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            _("rule"),
            _("kind"),
            _("passed"),
            _("points"),
            _("explanation"),
            rows,
        )

    @admin.display(description=_("flags"))
    def flag_list(self, obj: Screening) -> SafeString | str:
        if not obj.flags:
            return str(_("none"))
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><strong>{}</strong>: {} {}</li>",
                (
                    (
                        f.get("code", ""),
                        explanation_in_active_language(f.get("explanation")),
                        ", ".join(r.get("reference") or "" for r in f.get("related", [])),
                    )
                    for f in obj.flags
                ),
            ),
        )

    @admin.display(description=_("routing"))
    def routing_display(self, obj: Screening) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.routing, ensure_ascii=False, indent=2))

    @admin.display(description=_("facts"))
    def facts_display(self, obj: Screening) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.facts, ensure_ascii=False, indent=2))


@admin.register(QueueEntry)
class QueueEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "application_reference",
        "queue",
        "state",
        "priority",
        "due_at",
        "escalated_at",
        "claimed_by",
    ]
    list_select_related = ["application", "queue", "claimed_by"]
    list_filter = ["queue", "state"]
    search_fields = ["application__reference"]
    ordering = ["due_at"]
    fields = [
        "application_reference",
        "queue",
        "state",
        "priority",
        "entered_at",
        "due_at",
        "paused_at",
        "escalated_at",
        "claimed_by",
        "claimed_at",
        "lease_expires_at",
        "updated_at",
    ]
    readonly_fields = ["application_reference"]

    @admin.display(description=_("application"), ordering="application__reference")
    def application_reference(self, obj: QueueEntry) -> SafeString | str:
        return _application_link(obj.application)
