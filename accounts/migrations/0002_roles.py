"""Create one group per role and give each its permissions.

Later apps add their own permissions to these groups in their own migrations, through
accounts.roles.grant_permissions.
"""

from django.db import migrations

ROLE_PERMISSIONS = {
    "applicant": [],
    "officer": [("accounts", "work_cases")],
    "supervisor": [("accounts", "work_cases"), ("accounts", "supervise_cases")],
    "admin": [("accounts", "work_cases"), ("accounts", "supervise_cases")],
}


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, codename in perms:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
