"""Admin for user accounts: email login, roles as groups, two-factor state and reset."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.access import protect_admin_site
from accounts.models import ApiClient, ApiToken, Role, Scope, User
from accounts.services import api_client_create, api_token_issue, user_mfa_reset


class UserCreationForm(AdminUserCreationForm):
    """Create an account from an email address and (optionally) a password."""

    class Meta:
        model = User
        fields = ("email", "full_name")

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        # The database enforces this through a functional unique constraint, whose generic
        # message would not say which field is wrong.
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(_("A user with this email address already exists."))
        return email


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("A user with this email address already exists."))
        return email


def _has_totp() -> Exists:
    return Exists(Authenticator.objects.filter(user=OuterRef("pk"), type=Authenticator.Type.TOTP))


class HasTOTPFilter(admin.SimpleListFilter):
    title = _("authenticator app")
    parameter_name = "totp"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Enrolled")), ("no", _("Not enrolled"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() == "yes":
            return queryset.filter(_has_totp())
        if self.value() == "no":
            return queryset.filter(~_has_totp())
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "roles", "totp_enrolled", "is_active", "is_staff")
    list_filter = ("groups", HasTOTPFilter, "is_active", "is_staff", "is_superuser")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    filter_horizontal = ("groups", "user_permissions")
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "preferred_language")}),
        (
            _("Roles and permissions"),
            {"fields": ("is_active", "groups", "is_staff", "is_superuser", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    actions = ("reset_two_factor",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return (
            super().get_queryset(request).annotate(has_totp=_has_totp()).prefetch_related("groups")
        )

    @admin.display(description=_("roles"))
    def roles(self, obj: User) -> str:
        names = {group.name for group in obj.groups.all()}  # prefetched
        return ", ".join(str(role.label) for role in Role if role.value in names)

    @admin.display(description=_("authenticator app"), boolean=True, ordering="has_totp")
    def totp_enrolled(self, obj: User) -> bool:
        return obj.has_totp  # type: ignore[attr-defined]  # annotated in get_queryset

    def has_reset_two_factor_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("mfa.delete_authenticator")

    @admin.action(
        description=_("Reset two-factor authentication (lost device)"),
        permissions=["reset_two_factor"],
    )
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            if user_mfa_reset(user=user):
                self.log_change(request, user, _("Reset two-factor authentication."))
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "Two-factor authentication was reset for %(count)d user.",
                "Two-factor authentication was reset for %(count)d users.",
                count,
            )
            % {"count": count},
            level=messages.SUCCESS,
        )


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiClient
        fields = ("name", "scopes", "contact_email", "is_active")


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Clients are created through the service (which makes the client's own user); tokens are
    issued with the action, which shows the token once."""

    form = ApiClientForm
    list_display = ("name", "scope_list", "contact_email", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "contact_email")
    actions = ("issue_token",)

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: ApiClient) -> str:
        return ", ".join(obj.scopes)

    def save_model(self, request: HttpRequest, obj: ApiClient, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            User.objects.filter(pk=obj.user_id).update(is_active=obj.is_active)
            return
        created = api_client_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            contact_email=form.cleaned_data["contact_email"],
            actor=request.user,  # type: ignore[arg-type]
        )
        obj.pk, obj.user_id = created.pk, created.user_id
        obj._state.adding = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: the audit trail points at the client's user

    @admin.action(description=_("Issue a new token (shown once)"))
    def issue_token(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        for client in queryset.select_related("user"):
            _token, plain = api_token_issue(
                user=client.user,
                label=str(_("issued in the admin")),
                created_by=request.user,  # type: ignore[arg-type]
            )
            self.message_user(
                request,
                _("Token for %(client)s (copy it now, it is not shown again): %(token)s")
                % {"client": client.name, "token": plain},
                level=messages.WARNING,
            )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are listed by their key prefix and revoked by deleting them."""

    list_display = ("token_key", "user", "label", "created", "expiry")
    list_select_related = ("user",)
    search_fields = ("token_key", "user__email", "label")
    fields = ("token_key", "user", "label", "created", "expiry", "created_by")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


protect_admin_site(admin.site)
