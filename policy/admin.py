from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from policy.models import Institution, PolicyVersion, StemField
from policy.services import ImportReport, institutions_import_csv, stem_fields_import_csv


class CsvImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file (UTF-8)"))

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > 2 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from exc


class CsvImportMixin:
    """Adds an "Import CSV" page to a governed-list admin."""

    import_service: Callable[..., ImportReport]
    import_columns: str

    def get_urls(self) -> list[URLPattern]:
        info = self.model._meta.app_label, self.model._meta.model_name  # type: ignore[attr-defined]
        view = self.admin_site.admin_view(self.import_csv)  # type: ignore[attr-defined]
        return [path("import/", view, name="{}_{}_import".format(*info)), *super().get_urls()]  # type: ignore[misc]

    def import_csv(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        form = CsvImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            report = type(self).import_service(text=form.cleaned_data["file"])
            if report.errors:
                for error in report.errors[:20]:
                    messages.error(request, error)
                messages.error(request, _("Nothing was imported. Correct the file and try again."))
            else:
                messages.success(
                    request,
                    _("Imported: %(created)d created, %(updated)d updated.")
                    % {"created": report.created, "updated": report.updated},
                )
                return redirect("..")
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": self.model._meta,  # type: ignore[attr-defined]
            "form": form,
            "columns": self.import_columns,
            "title": _("Import from CSV"),
        }
        return TemplateResponse(request, "admin/policy/import_csv.html", context)


@admin.register(StemField)
class StemFieldAdmin(CsvImportMixin, admin.ModelAdmin):
    list_display = ["code", "name_en", "name_zh", "discipline", "is_active"]
    list_filter = ["discipline", "is_active"]
    search_fields = ["code", "name_en", "name_zh"]
    change_list_template = "admin/policy/change_list_with_import.html"
    import_service = staticmethod(stem_fields_import_csv)
    import_columns = "code, discipline, name_en, name_zh"


@admin.register(Institution)
class InstitutionAdmin(CsvImportMixin, admin.ModelAdmin):
    list_display = ["name_en", "name_zh", "country", "kind", "tier", "is_active"]
    list_filter = ["tier", "kind", "is_active", "country"]
    search_fields = ["name_en", "name_zh"]
    change_list_template = "admin/policy/change_list_with_import.html"
    import_service = staticmethod(institutions_import_csv)
    import_columns = "name_en, name_zh, country (ISO code), kind (university|research), tier (1-3)"


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "created_at", "published_at"]
    list_filter = ["status"]
    readonly_fields = ["status", "published_at", "published_by", "created_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A published or retired version is history: applications were judged by it.
        if obj is not None and obj.status != PolicyVersion.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)
