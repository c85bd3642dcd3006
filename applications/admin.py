from django.contrib import admin

from applications.models import Application, Degree, Document, EvidenceRequest, TimelineEvent


class DegreeInline(admin.TabularInline):
    model = Degree
    extra = 0
    raw_id_fields = ["field", "institution"]


class DocumentInline(admin.TabularInline):
    model = Document
    extra = 0
    fields = ("kind", "original_name", "content_type", "size", "sha256", "uploaded_at")
    readonly_fields = fields
    can_delete = False


class TimelineInline(admin.TabularInline):
    model = TimelineEvent
    extra = 0
    fields = ("at", "kind", "from_status", "to_status", "actor", "public", "message")
    readonly_fields = fields
    can_delete = False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """Read-mostly: status changes go through services (officer workspace), never the admin."""

    list_display = ["reference", "status", "path", "nationality", "submitted_at", "created_at"]
    list_filter = ["status", "path"]
    search_fields = ["reference", "family_name", "applicant__email"]
    raw_id_fields = ["applicant", "policy_version", "employer_institution", "post_field"]
    readonly_fields = [
        "status",
        "reference",
        "policy_version",
        "snapshot",
        "submitted_at",
        "decided_at",
        "withdrawn_at",
        "passport_digest",
    ]
    exclude = ["passport_number"]
    inlines = [DegreeInline, DocumentInline, TimelineInline]
    show_full_result_count = False  # counting millions of rows on every page is not free


@admin.register(EvidenceRequest)
class EvidenceRequestAdmin(admin.ModelAdmin):
    list_display = ["application", "state", "due_at", "created_at"]
    list_filter = ["state"]
    raw_id_fields = ["application", "requested_by"]
