"""Seed the RolePermission table from accounts.roles.ROLE_PERMISSIONS (idempotent)."""

from django.db import migrations


def seed(apps, schema_editor):
    from accounts.roles import ROLE_PERMISSIONS

    RolePermission = apps.get_model("accounts", "RolePermission")
    existing = set(RolePermission.objects.values_list("role", "permission"))
    RolePermission.objects.bulk_create(
        [
            RolePermission(role=str(role), permission=str(permission))
            for role, permissions in ROLE_PERMISSIONS.items()
            for permission in permissions
            if (str(role), str(permission)) not in existing
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_sessions_otp_mfa")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
