"""Staff account care without bypassing the rules: password change and MFA reset by an operator.

Before, `manage.py changepassword` (Django's) set an admin's password with no audit row and left every
session of the admin open, and there was no way to reset a lost authenticator but editing rows.
"""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditLog, AuthSession, LoginFailure, MfaBackupCode, MfaDevice, User
from accounts.tests.factories import AdminFactory, MfaDeviceFactory, UserFactory
from accounts.tests.helpers import ADMIN_LOGIN

pytestmark = pytest.mark.django_db

OLD = "Correct-horse-42!"
NEW = "Brand-new-pass-77?"


@pytest.fixture
def admin_with_sessions(make_auth_client):
    admin = AdminFactory(password=OLD)
    device = MfaDeviceFactory(user=admin)
    MfaBackupCode.objects.create(device=device, code_hash="x" * 64)
    clients = [make_auth_client(admin, mfa_verified=True) for _ in range(2)]
    return admin, clients


def _changepassword(email, password, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    out = io.StringIO()
    call_command("changepassword", email, "--password-stdin", stdout=out)
    return out.getvalue()


def test_changepassword_is_ours_validated_audited_and_ends_every_session(admin_with_sessions, monkeypatch):
    admin, clients = admin_with_sessions
    output = _changepassword(admin.email, NEW, monkeypatch)

    assert "2 session(s) ended" in output
    admin.refresh_from_db()
    assert admin.check_password(NEW)
    assert set(AuthSession.objects.filter(user=admin).values_list("revoked_reason", flat=True)) == {"password_changed"}
    for client in clients:
        assert client.get("/api/v1/admin/mfa/status").json()["code"] == "session_revoked"
    row = AuditLog.objects.get(action="auth.password_change")
    assert (row.resource_id, row.actor_id, row.actor_email) == (str(admin.pk), None, "operator (manage.py)")
    assert row.changes["after"] == {"via": "manage.py", "sessions_ended": 2}


def test_changepassword_refuses_a_weak_password_and_changes_nothing(admin_with_sessions, monkeypatch):
    admin, _ = admin_with_sessions
    with pytest.raises(CommandError):
        _changepassword(admin.email, "12345", monkeypatch)
    admin.refresh_from_db()
    assert admin.check_password(OLD)
    assert not AuthSession.objects.filter(user=admin, revoked_at__isnull=False).exists()
    assert not AuditLog.objects.filter(action="auth.password_change").exists()


def test_changepassword_is_for_admins_only(monkeypatch):
    patient = UserFactory(email="patient@example.com")
    with pytest.raises(CommandError, match="not an admin"):
        _changepassword(patient.email, NEW, monkeypatch)
    assert not User.objects.get(pk=patient.pk).has_usable_password()


def test_changepassword_clears_a_lockout(admin_with_sessions, monkeypatch, api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin_login_ip": "100/15m"}
    admin, _ = admin_with_sessions
    for _ in range(settings.ADMIN_LOCKOUT_THRESHOLD):
        api_client.post(ADMIN_LOGIN, {"email": admin.email, "password": "wrong"}, format="json")
    assert api_client.post(ADMIN_LOGIN, {"email": admin.email, "password": OLD}, format="json").status_code == 429
    _changepassword(admin.email, NEW, monkeypatch)
    assert not LoginFailure.objects.filter(user=admin).exists()
    assert api_client.post(ADMIN_LOGIN, {"email": admin.email, "password": NEW}, format="json").status_code == 200


def test_reset_admin_mfa_removes_the_authenticator_ends_sessions_and_is_audited(admin_with_sessions, api_client):
    admin, _ = admin_with_sessions
    out = io.StringIO()
    call_command("reset_admin_mfa", admin.email, "--reason", "lost phone, ticket 42", stdout=out)

    assert not MfaDevice.objects.filter(user=admin).exists()
    assert not MfaBackupCode.objects.exists()
    assert set(AuthSession.objects.filter(user=admin).values_list("revoked_reason", flat=True)) == {"mfa_reset"}
    row = AuditLog.objects.get(action="auth.mfa.reset")
    assert row.changes == {
        "before": {"mfa_enabled": True},
        "after": {"mfa_enabled": False, "reason": "lost phone, ticket 42", "sessions_ended": 2},
    }
    # The admin signs in with the password and is sent to enrol again (restricted session).
    login = api_client.post(ADMIN_LOGIN, {"email": admin.email, "password": OLD}, format="json").json()
    assert login["data"]["mfaEnrollmentRequired"] is True


def test_reset_admin_mfa_needs_an_admin_and_a_reason(admin_with_sessions):
    admin, _ = admin_with_sessions
    with pytest.raises(CommandError):
        call_command("reset_admin_mfa", UserFactory(email="p@example.com").email, "--reason", "x")
    with pytest.raises(CommandError):
        call_command("reset_admin_mfa", admin.email, "--reason", "  ")
    assert MfaDevice.objects.filter(user=admin, is_enabled=True).exists()
    assert not AuditLog.objects.filter(action="auth.mfa.reset").exists()
