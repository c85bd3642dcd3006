"""Let supervisors see, and administrators manage, user accounts in the admin site.

Supervisors get read-only access to users (who is on which role); administrators manage
users, their email addresses and their authenticators (e.g. reset a lost phone's TOTP).
"""

from django.db import migrations

from accounts.roles import grant_permissions, revoke_permissions

GRANTS = {
    "supervisor": ["accounts.view_user", "auth.view_group"],
    "admin": [
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "auth.view_group",
        "account.view_emailaddress",
        "account.change_emailaddress",
        "mfa.view_authenticator",
        "mfa.delete_authenticator",
    ],
}


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def revoke(apps, schema_editor):
    revoke_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
