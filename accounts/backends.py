"""Django's ModelBackend, reading a user's permissions in one query instead of two.

Every officer request checks a permission (the cases scopes, the supervisor's view), and
Django's backend reads the user's own permissions and their groups' in two queries. Here both
come from one, cached on the user object for the request exactly where Django's backend caches
them, so ``has_perm`` and every other caller of the cache behave as before. A bearer-token
request reads them with the token itself (accounts.api_auth), and asks nothing here.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat


def _full_names(permissions: QuerySet[Permission]) -> QuerySet[Permission, str]:
    """The permissions' names as Django's backend caches them: "app_label.codename"."""
    return (
        permissions.order_by()
        .annotate(full_name=Concat("content_type__app_label", Value("."), "codename"))
        .values_list("full_name", flat=True)
    )


def permission_names(user: Any) -> QuerySet[Permission, str]:
    """The names ("app_label.codename") of a user's permissions, their own and their groups'.

    ``user``: a user's id, or an expression for it (an OuterRef, to use this as a subquery).
    """
    from accounts.models import User

    own = User.user_permissions.through.objects.filter(user_id=user).values("permission_id")
    groups = Group.permissions.through.objects.filter(group__user=user).values("permission_id")
    return _full_names(Permission.objects.filter(Q(pk__in=own) | Q(pk__in=groups)))


class ModelBackend(DjangoModelBackend):
    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                user_obj._perm_cache = set(_full_names(Permission.objects.all()))
            else:
                user_obj._perm_cache = set(permission_names(user_obj.pk))
        return user_obj._perm_cache
