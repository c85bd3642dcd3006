"""Admin for user accounts: email login, roles as groups, two-factor state and reset."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.access import protect_admin_site
from accounts.models import Role, User
from accounts.services import user_mfa_reset


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


protect_admin_site(admin.site)
