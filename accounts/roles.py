"""Wiring between role groups and permissions, for data migrations.

Every role is a Group (see ``accounts.models.Role``). An app that introduces a permission
grants it to the roles that need it from one of its own migrations::

    from accounts.roles import grant_permissions, revoke_permissions

    GRANTS = {"officer": ["applications.view_application"]}

    migrations.RunPython(
        lambda apps, schema_editor: grant_permissions(apps, GRANTS),
        lambda apps, schema_editor: revoke_permissions(apps, GRANTS),
    )

Migrations, not code run at start-up, so that the grants are versioned, reviewed and applied
once, in order, on every database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

RoleGrants = Mapping[str, Iterable[str]]


def _ensure_permissions_exist(apps: Any) -> None:
    """Create the default and Meta permissions of every app now.

    Django creates them in a post_migrate handler, i.e. after *all* migrations; on a fresh
    database a data migration would otherwise find none.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None


def _permissions(apps: Any, names: Iterable[str]) -> list[Any]:
    permission_model = apps.get_model("auth", "Permission")
    found = []
    for name in names:
        app_label, codename = name.split(".", 1)
        found.append(
            permission_model.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return found


def grant_permissions(apps: Any, grants: RoleGrants) -> None:
    """Add each listed permission ("app_label.codename") to the role's group (idempotent)."""
    _ensure_permissions_exist(apps)
    group_model = apps.get_model("auth", "Group")
    for role, names in grants.items():
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.add(*_permissions(apps, names))


def revoke_permissions(apps: Any, grants: RoleGrants) -> None:
    """Undo ``grant_permissions`` (for the migration's reverse step)."""
    group_model = apps.get_model("auth", "Group")
    for role, names in grants.items():
        group = group_model.objects.filter(name=role).first()
        if group is not None:
            group.permissions.remove(*_permissions(apps, names))
