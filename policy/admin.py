"""Admin for the policy: governed lists, policy versions (draft, publish, copy), review
queues and holidays.

Policy versions are written only through policy.services, so every change leaves a
PolicyEvent; the admin adds forms, the confirmation page and the display of the history.
"""

from __future__ import annotations

import contextlib
import difflib
import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import Count, ManyToManyField, QuerySet
from django.forms.models import ModelMultipleChoiceField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import WORK_CASES, User
from kvisa.errors import DomainError
from policy.models import Holiday, Institution, PolicyEvent, PolicyVersion, ReviewQueue, StemField
from policy.schema import validate_policy
from policy.selectors import NoPolicyInForce, policy_in_force, queue_codes
from policy.services import (
    SECTION_NAMES,
    ImportReport,
    changed_sections,
    institutions_import_csv,
    policy_version_create_draft,
    policy_version_publish,
    policy_version_update,
    stem_fields_import_csv,
)


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


# --- Policy versions ---------------------------------------------------------------------------


def _section_label(name: str) -> str:
    field = PolicyVersion._meta.get_field(name)
    return str(getattr(field, "verbose_name", name))


def _pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


class PolicyJSONField(forms.JSONField):
    """A JSON field shown indented, so that an administrator can read and edit a section."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, cls=self.encoder)


class PolicyVersionForm(forms.ModelForm):
    """Shows every problem validate_policy finds beside the section it is in."""

    class Meta:
        model = PolicyVersion
        fields = ["name", "notes", *SECTION_NAMES]
        field_classes = dict.fromkeys(SECTION_NAMES, PolicyJSONField)
        widgets = {
            name: forms.Textarea(
                attrs={"rows": 16, "cols": 100, "spellcheck": "false", "class": "policy-json"}
            )
            for name in SECTION_NAMES
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A section that is not even JSON already carries its error; the cross-section rules
        # only make sense once all of them parsed.
        if all(name in cleaned for name in SECTION_NAMES):
            problems = validate_policy(cleaned, queue_codes=queue_codes())
            for section, section_problems in problems.items():
                for problem in section_problems:
                    self.add_error(section, problem)
        return cleaned


def _json_display(section: str) -> Callable[[Any, PolicyVersion], SafeString]:
    def display(admin_: Any, obj: PolicyVersion) -> SafeString:
        return format_html('<pre class="policy-json">{}</pre>', _pretty_json(getattr(obj, section)))

    return admin.display(description=_section_label(section))(display)


def _event_details(event: PolicyEvent) -> str:
    data = event.data or {}
    if event.action == PolicyEvent.Action.CREATED and data.get("source_name"):
        return gettext("Copied from %(name)s.") % {"name": data["source_name"]}
    if event.action == PolicyEvent.Action.EDITED:
        return gettext("Changed: %(fields)s.") % {"fields": ", ".join(data.get("fields", []))}
    if event.action == PolicyEvent.Action.PUBLISHED:
        sections = ", ".join(data.get("sections", [])) or gettext("none")
        if data.get("replaces_name"):
            return gettext("Replaced %(name)s; sections changed: %(sections)s.") % {
                "name": data["replaces_name"],
                "sections": sections,
            }
        return gettext("First version in force.")
    if event.action == PolicyEvent.Action.RETIRED and data.get("replaced_by_name"):
        return gettext("Replaced by %(name)s.") % {"name": data["replaced_by_name"]}
    return ""


def _free_copy_name(source: PolicyVersion) -> str:
    """A suggested name for a copy that no version has yet ("Copy of X", "Copy of X (2)" …)."""
    base = gettext("Copy of %(name)s") % {"name": source.name}
    base = base[:90]  # room for " (n)" within the 100 characters of a name
    taken = set(PolicyVersion.objects.filter(name__startswith=base).values_list("name", flat=True))
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base} ({n})"
    return candidate


class CopyForm(forms.Form):
    name = forms.CharField(label=_("Name of the new draft"), max_length=100)

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if PolicyVersion.objects.filter(name=name).exists():
            raise forms.ValidationError(_("A policy version with this name already exists."))
        return name


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    form = PolicyVersionForm
    list_display = ["name", "status", "created_at", "published_at", "published_by"]
    list_select_related = ["published_by"]
    list_filter = ["status"]
    search_fields = ["name"]
    readonly_fields = [
        "status",
        "published_at",
        "published_by",
        "created_at",
        "history",
        *(f"{name}_display" for name in SECTION_NAMES),
    ]
    actions = ["publish_selected", "copy_selected"]
    change_form_template = "admin/policy/policyversion/change_form.html"

    criteria_display = _json_display("criteria")
    points_model_display = _json_display("points_model")
    document_checklist_display = _json_display("document_checklist")
    visa_terms_display = _json_display("visa_terms")
    routing_rules_display = _json_display("routing_rules")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        editable = obj is None or obj.status == PolicyVersion.Status.DRAFT
        sections = SECTION_NAMES if editable else [f"{n}_display" for n in SECTION_NAMES]
        fieldsets: list[tuple[Any, dict[str, Any]]] = [
            (None, {"fields": ["name", "status", "notes"] if obj else ["name", "notes"]}),
            (_("Rules"), {"fields": list(sections)}),
        ]
        if obj is not None:
            fieldsets.append(
                (
                    _("History"),
                    {"fields": ["created_at", "published_at", "published_by", "history"]},
                )
            )
        return fieldsets

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """A new draft starts as the version in force: a policy change is an edit."""
        initial = super().get_changeform_initial_data(request)
        with contextlib.suppress(NoPolicyInForce):
            initial.update(policy_in_force().sections)
        return initial

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A published or retired version is history: applications were judged by it.
        if obj is not None and obj.status != PolicyVersion.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The events are an append-only audit (PROTECT); a draft nobody wants is left unpublished.
        return False

    @admin.display(description=_("events"))
    def history(self, obj: PolicyVersion) -> SafeString | str:
        if obj.pk is None:
            return "-"
        events = obj.events.select_related("actor").order_by("at", "pk")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    date_format(localtime(e.at), "DATETIME_FORMAT"),
                    e.get_action_display(),
                    e.actor or "-",
                    _event_details(e),
                )
                for e in events
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("When"),
            _("What"),
            _("Who"),
            _("Details"),
            rows,
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Write through the services, which validate again and record the PolicyEvents."""
        assert isinstance(request.user, User)
        data = {f: form.cleaned_data[f] for f in ("notes", *SECTION_NAMES)}
        if change:
            version = policy_version_update(
                version=obj, actor=request.user, data={"name": form.cleaned_data["name"], **data}
            )
        else:
            try:
                source: PolicyVersion | None = policy_in_force()
            except NoPolicyInForce:
                source = None
            version = policy_version_create_draft(
                actor=request.user, source=source, name=form.cleaned_data["name"]
            )
            version = policy_version_update(version=version, actor=request.user, data=data)
        obj.pk = version.pk
        obj.refresh_from_db()

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The form validated already; a service can still refuse (a queue deactivated or the
        # draft published in between). The admin's transaction has rolled back by then.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            messages.error(request, exc.message)
            for section_problems in exc.extra.get("problems", {}).values():
                for problem in section_problems:
                    messages.error(request, problem)
            return HttpResponseRedirect(request.get_full_path())

    # --- publish and copy: actions on the list, buttons on the change page ---

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="{}_{}_publish".format(*info),
            ),
            path(
                "<path:object_id>/copy/",
                self.admin_site.admin_view(self.copy_view),
                name="{}_{}_copy".format(*info),
            ),
            *super().get_urls(),
        ]

    def _url(self, name: str, version: PolicyVersion) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}", args=[version.pk]
        )

    @admin.action(description=_("Publish the selected draft"), permissions=["change"])
    def publish_selected(
        self, request: HttpRequest, queryset: QuerySet[PolicyVersion]
    ) -> HttpResponse | None:
        versions = list(queryset[:2])
        if len(versions) != 1:
            messages.error(request, _("Select exactly one draft to publish."))
            return None
        return HttpResponseRedirect(self._url("publish", versions[0]))

    @admin.action(description=_("Copy as new draft"), permissions=["add"])
    def copy_selected(
        self, request: HttpRequest, queryset: QuerySet[PolicyVersion]
    ) -> HttpResponse | None:
        versions = list(queryset[:2])
        if len(versions) != 1:
            messages.error(request, _("Select exactly one version to copy."))
            return None
        return HttpResponseRedirect(self._url("copy", versions[0]))

    def _version_or_404(self, request: HttpRequest, object_id: str) -> PolicyVersion:
        version = self.get_object(request, unquote(object_id))
        if version is None:
            raise Http404
        return version

    def publish_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Confirm, showing what changes against the version in force; publish on POST."""
        version = self._version_or_404(request, object_id)
        if not super().has_change_permission(request, version):
            raise PermissionDenied
        change_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[version.pk]
        )
        if version.status != PolicyVersion.Status.DRAFT:
            messages.error(request, _("Only a draft policy version can be published."))
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            assert isinstance(request.user, User)
            try:
                policy_version_publish(version=version, actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.message)
                return HttpResponseRedirect(request.get_full_path())
            messages.success(request, _("%(name)s is now in force.") % {"name": version.name})
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        try:
            in_force: PolicyVersion | None = policy_in_force()
        except NoPolicyInForce:
            in_force = None
        before = in_force.sections if in_force else {}
        differing = changed_sections(before, version.sections)
        diffs = [
            {
                "section": _section_label(name),
                "lines": [
                    (_diff_class(line), line)
                    for line in difflib.unified_diff(
                        _pretty_json(before.get(name)).splitlines(),
                        _pretty_json(version.sections[name]).splitlines(),
                        fromfile=in_force.name if in_force else "-",
                        tofile=version.name,
                        lineterm="",
                    )
                ],
            }
            for name in differing
        ]
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Publish %(name)s?") % {"name": version.name},
            "version": version,
            "in_force": in_force,
            "diffs": diffs,
            "unchanged": [_section_label(n) for n in SECTION_NAMES if n not in differing],
            "problems": validate_policy(version.sections, queue_codes=queue_codes()),
            "change_url": change_url,
        }
        return TemplateResponse(
            request, "admin/policy/policyversion/publish_confirmation.html", context
        )

    def copy_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Start a new draft from any version, under a name the administrator chooses."""
        source = self._version_or_404(request, object_id)
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CopyForm(request.POST or None, initial={"name": _free_copy_name(source)})
        if request.method == "POST" and form.is_valid():
            assert isinstance(request.user, User)
            try:
                draft = policy_version_create_draft(
                    actor=request.user, source=source, name=form.cleaned_data["name"]
                )
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    _("%(name)s was created as a draft; edit it, then publish it.")
                    % {"name": draft.name},
                )
                return HttpResponseRedirect(
                    reverse(
                        f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                        args=[draft.pk],
                    )
                )
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Copy %(name)s as a new draft") % {"name": source.name},
            "source": source,
            "form": form,
        }
        return TemplateResponse(request, "admin/policy/policyversion/copy.html", context)


def _diff_class(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "diff-file"
    if line.startswith("@@"):
        return "diff-hunk"
    if line.startswith("+"):
        return "diff-added"
    if line.startswith("-"):
        return "diff-removed"
    return ""


# --- Review queues and holidays ---------------------------------------------------------------


@admin.register(ReviewQueue)
class ReviewQueueAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name_en",
        "name_zh",
        "priority",
        "service_level_days",
        "member_count",
        "is_active",
    ]
    list_filter = ["is_active"]
    search_fields = ["code", "name_en", "name_zh"]
    filter_horizontal = ["members"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReviewQueue]:
        return super().get_queryset(request).annotate(member_count=Count("members", distinct=True))

    @admin.display(description=_("officers"), ordering="member_count")
    def member_count(self, obj: Any) -> int:
        return int(obj.member_count)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Routing rules name queues by code: renaming one would silently send its cases to the
        # fallback queue. Deactivate it and add a new one instead.
        return ["code"] if obj is not None else []

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField | None:
        if db_field.name == "members":
            kwargs["queryset"] = (
                ModelBackend()
                .with_perm(WORK_CASES, is_active=True, include_superusers=True)
                .order_by("email")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name_en", "name_zh"]
    search_fields = ["name_en", "name_zh"]
    date_hierarchy = "date"
