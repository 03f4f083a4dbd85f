"""createadmin, the accounts seed and the role grants."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts import seed
from accounts.models import RolePermission, User
from accounts.roles import ROLE_PERMISSIONS, permissions_for_role

pytestmark = pytest.mark.django_db


def test_createadmin_creates_an_admin_who_can_sign_in(api_client):
    out = StringIO()
    call_command("createadmin", "--email", "Ops@Manas360.test", "--password", "A-long-pass-phrase-9", stdout=out)
    admin = User.objects.get(email="ops@manas360.test")
    assert admin.role == "admin"
    assert admin.is_staff is True
    assert "generate-secret" in out.getvalue()
    response = api_client.post(
        "/api/v1/auth/admin-login", {"email": "ops@manas360.test", "password": "A-long-pass-phrase-9"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["mfaEnrollmentRequired"] is True


def test_createadmin_refuses_a_weak_password():
    with pytest.raises(CommandError):
        call_command("createadmin", "--email", "ops@manas360.test", "--password", "123", stdout=StringIO())
    assert not User.objects.filter(email="ops@manas360.test").exists()


def test_seed_creates_demo_accounts_idempotently(settings):
    settings.SEED_ADMIN_PASSWORD = "Seed-admin-pass-1"
    out = StringIO()
    seed.run(stdout=out, demo_accounts=True)
    seed.run(stdout=out, demo_accounts=True)
    admin = User.objects.get(email="admin@manas360.local")
    assert admin.role == "admin"
    assert admin.is_staff is True
    assert admin.check_password("Seed-admin-pass-1")
    assert not hasattr(admin, "mfa_device") or not admin.mfa_device.is_enabled
    patient = User.objects.get(email="patient@manas360.local")
    assert patient.phone_number == "+919876543210"
    assert User.objects.get(email="therapist@manas360.local").role == "therapist"
    assert User.objects.count() == 3
    assert "admin@manas360.local" in out.getvalue()


def test_seed_without_demo_accounts_creates_no_users():
    RolePermission.objects.all().delete()
    seed.run(stdout=StringIO(), demo_accounts=False)
    assert not User.objects.exists()
    expected = sum(len(perms) for perms in ROLE_PERMISSIONS.values())
    assert RolePermission.objects.count() == expected


def test_permissions_come_from_the_role_permission_table():
    assert "view_analytics" in permissions_for_role("admin")
    assert "view_analytics" not in permissions_for_role("patient")
    RolePermission.objects.create(role="therapist", permission="view_analytics")
    from accounts.roles import clear_role_permission_cache

    clear_role_permission_cache()
    assert "view_analytics" in permissions_for_role("therapist")
