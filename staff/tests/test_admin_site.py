"""The Django admin site: TOTP sign-in, who gets in, user admin actions, the read-only audit log."""

from datetime import timedelta

import pyotp
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLog, AuthSession, User
from accounts.roles import Role
from accounts.sessions import sessions_revoke_for_user
from accounts.tests.factories import UserFactory
from staff.admin_site import STAFF_AUTH_SESSION_KEY
from staff.tests.factories import TherapistFactory
from staff.tests.helpers import staff_admin_with_totp
from subscriptions.tests.factories import PlanFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
INDEX = "/admin/"
USERS_CHANGELIST = "/admin/accounts/user/"
AUDIT_CHANGELIST = "/admin/accounts/auditlog/"


def _code(secret, *, offset_steps=0):
    totp = pyotp.TOTP(secret)
    return totp.at(timezone.now() + timedelta(seconds=30 * offset_steps))


def _login(client, email, password, code):
    return client.post(LOGIN, {"username": email, "password": password, "otp_token": code, "next": INDEX})


@pytest.fixture
def signed_in(staff_admin):
    user, password, secret = staff_admin
    client = Client()
    response = _login(client, user.email, password, _code(secret))
    assert response.status_code == 302, response.content
    client.user = user
    return client


# --- sign-in -------------------------------------------------------------------------------------------------


def test_login_form_has_the_documented_field_names():
    response = Client().get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ('name="username"', 'name="password"', 'name="otp_token"', 'id="login-form"'):
        assert name in html


def test_sign_in_with_a_correct_code_succeeds(staff_admin):
    user, password, secret = staff_admin
    client = Client()

    response = _login(client, user.email, password, _code(secret))

    assert response.status_code == 302
    assert response["Location"] == INDEX
    assert client.get(INDEX).status_code == 200
    session_id = client.session[STAFF_AUTH_SESSION_KEY]
    assert AuthSession.objects.get(pk=session_id).mfa_completed is True
    assert AuditLog.objects.filter(action="auth.admin_login.success", actor=user).exists()


def test_sign_in_accepts_upper_case_email(staff_admin):
    user, password, secret = staff_admin
    assert _login(Client(), user.email.upper(), password, _code(secret)).status_code == 302


@pytest.mark.parametrize("code", ["", "000000", "abc"])
def test_sign_in_without_a_correct_code_fails(staff_admin, code):
    user, password, secret = staff_admin
    if code == "000000" and _code(secret) == code:  # pragma: no cover - one in a million
        code = "000001"
    client = Client()

    response = _login(client, user.email, password, code)

    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session
    assert client.get(INDEX).status_code == 302  # back to the login page
    assert not AuthSession.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_wrong_code_is_audited_and_counts_towards_lockout(staff_admin):
    user, password, secret = staff_admin
    wrong = "111111" if _code(secret) != "111111" else "222222"

    _login(Client(), user.email, password, wrong)

    assert AuditLog.objects.filter(action="auth.mfa.failure", actor=user).exists()


def test_wrong_password_fails(staff_admin):
    user, _password, secret = staff_admin
    client = Client()
    response = _login(client, user.email, "not-the-password", _code(secret))
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_code_is_accepted_once(staff_admin):
    user, password, secret = staff_admin
    code = _code(secret)
    assert _login(Client(), user.email, password, code).status_code == 302

    second = Client()
    response = _login(second, user.email, password, code)

    assert response.status_code == 200
    assert "already used" in response.content.decode()
    assert "_auth_user_id" not in second.session


def test_lockout_after_repeated_failures(staff_admin):
    user, password, secret = staff_admin
    for _ in range(5):
        _login(Client(), user.email, "wrong-password", "123456")

    client = Client()
    response = _login(client, user.email, password, _code(secret))

    assert response.status_code == 200
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_in_shares_the_apis_per_ip_limit(staff_admin, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin_login_ip": "2/15m"}
    user, password, secret = staff_admin
    for _ in range(2):
        _login(Client(), "nobody@example.com", "wrong-password", "123456")

    client = Client()
    response = _login(client, user.email, password, _code(secret))

    assert response.status_code == 200
    assert "Too many sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_without_enrolled_totp_cannot_sign_in():
    user = User.objects.create_user(
        email="nototp@example.com", password="A-long-password-1", role=Role.ADMIN, is_staff=True
    )
    client = Client()

    response = _login(client, user.email, "A-long-password-1", "123456")

    assert response.status_code == 200
    assert "Set up two-factor authentication first" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not AuthSession.objects.filter(user=user, revoked_at__isnull=True).exists()


@pytest.mark.parametrize(
    "change",
    [{"is_staff": False}, {"is_active": False}, {"role": Role.THERAPIST}],
    ids=["not-staff", "suspended", "not-admin"],
)
def test_only_active_staff_admins_get_in(change):
    user, password, secret = staff_admin_with_totp()
    User.objects.filter(pk=user.pk).update(**change)
    client = Client()

    response = _login(client, user.email, password, _code(secret))

    assert response.status_code == 200
    assert client.get(INDEX).status_code == 302


def test_patient_with_a_password_cannot_sign_in():
    patient = UserFactory(password="A-long-password-1", email="patient-site@example.com")
    client = Client()
    response = _login(client, patient.email, "A-long-password-1", "123456")
    assert response.status_code == 200
    assert client.get(INDEX).status_code == 302


def test_password_only_django_session_is_not_enough(staff_admin):
    """A Django login without the TOTP sign-in (e.g. force_login) does not open the site."""
    user, _password, _secret = staff_admin
    client = Client()
    client.force_login(user)
    assert client.get(INDEX).status_code == 302


def test_suspension_ends_the_admin_site_session_at_once(signed_in):
    assert signed_in.get(INDEX).status_code == 200
    User.objects.filter(pk=signed_in.user.pk).update(is_active=False)
    assert signed_in.get(INDEX).status_code == 302


def test_revoking_the_admins_sessions_ends_the_admin_site_session(signed_in):
    sessions_revoke_for_user(now=timezone.now(), user=signed_in.user, reason="mfa_disabled")
    assert signed_in.get(INDEX).status_code == 302


def test_logout_revokes_the_anchoring_session(signed_in):
    session_id = signed_in.session[STAFF_AUTH_SESSION_KEY]
    response = signed_in.post(reverse("admin:logout"))
    assert response.status_code == 200
    assert AuthSession.objects.get(pk=session_id).revoked_at is not None


# --- users ---------------------------------------------------------------------------------------------------------


def test_users_changelist_query_count_does_not_grow_with_rows(signed_in, django_assert_num_queries):
    def add_rows(count, offset):
        for index in range(count):
            user = UserFactory()
            SubscriptionFactory(user=user, plan=PlanFactory(code=f"site_plan_{(index + offset) % 3}"))

    add_rows(2, 0)
    with CaptureQueriesContext(connection) as baseline:
        assert signed_in.get(USERS_CHANGELIST).status_code == 200
    add_rows(20, 2)

    with django_assert_num_queries(len(baseline.captured_queries)):
        response = signed_in.get(USERS_CHANGELIST)
    assert response.status_code == 200
    assert response.content.decode().count("site_plan_") >= 20


def test_users_changelist_search_and_filters(signed_in):
    wanted = UserFactory(first_name="Zarina", email="zarina@example.com", phone_number="+917012345678")
    other = UserFactory(first_name="Other", email="other-site@example.com")

    for query in ("Zarina", "zarina@example", "7012345678"):
        html = signed_in.get(USERS_CHANGELIST, {"q": query}).content.decode()
        assert wanted.email in html
        assert other.email not in html
    therapist = TherapistFactory(email="therapist-site@example.com")
    html = signed_in.get(USERS_CHANGELIST, {"role__exact": "therapist"}).content.decode()
    assert therapist.email in html
    assert other.email not in html
    User.objects.filter(pk=other.pk).update(is_active=False)
    html = signed_in.get(USERS_CHANGELIST, {"status": "suspended"}).content.decode()
    assert other.email in html
    assert wanted.email not in html
    html = signed_in.get(USERS_CHANGELIST, {"is_verified__exact": "0"}).content.decode()
    assert therapist.email in html
    assert wanted.email not in html


def _action(client, action, users):
    return client.post(
        USERS_CHANGELIST, {"action": action, "_selected_action": [str(user.pk) for user in users]}, follow=True
    )


def test_suspend_action_goes_through_the_service(signed_in, make_auth_client):
    patient = UserFactory()
    patient_client = make_auth_client(patient)

    response = _action(signed_in, "suspend_users", [patient])

    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.is_active is False
    answer = patient_client.get("/api/v1/users/me")
    assert answer.status_code == 401
    assert answer.json()["code"] == "account_suspended"
    row = AuditLog.objects.get(action="user.suspend")
    assert row.actor_id == signed_in.user.pk
    assert row.changes["before"]["status"] == "active"
    assert row.changes["after"]["status"] == "suspended"


def test_reinstate_action(signed_in):
    patient = UserFactory(is_active=False)
    _action(signed_in, "reinstate_users", [patient])
    patient.refresh_from_db()
    assert patient.is_active is True
    row = AuditLog.objects.get(action="user.reinstate")
    assert row.changes["after"] == {"status": "active", "is_active": True}


def test_verify_action_verifies_therapists_and_refuses_others(signed_in):
    therapist = TherapistFactory(is_verified=False)
    patient = UserFactory(is_verified=False)

    response = _action(signed_in, "verify_therapists", [therapist, patient])

    therapist.refresh_from_db()
    patient.refresh_from_db()
    assert therapist.is_verified is True
    assert patient.is_verified is False
    assert "Only therapists can be verified" in response.content.decode()
    row = AuditLog.objects.get(action="therapist.verify")
    assert row.resource_id == str(therapist.pk)
    assert row.changes["before"] == {"is_verified": False}
    assert row.changes["after"]["is_verified"] is True


def test_admin_cannot_suspend_themself_from_the_site(signed_in):
    _action(signed_in, "suspend_users", [signed_in.user])
    signed_in.user.refresh_from_db()
    assert signed_in.user.is_active is True
    assert not AuditLog.objects.filter(action="user.suspend").exists()


def test_change_form_saves_through_the_audited_service(signed_in):
    patient = UserFactory(first_name="Asha", last_name="Rao", role=Role.PATIENT)
    url = reverse("admin:accounts_user_change", args=[patient.pk])
    assert signed_in.get(url).status_code == 200

    response = signed_in.post(url, {"first_name": "Asha", "last_name": "Kumari", "role": "therapist"})

    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.last_name, patient.role) == ("Kumari", Role.THERAPIST)
    row = AuditLog.objects.get(action="user.update")
    assert row.changes["before"] == {"last_name": "Rao", "role": "patient"}
    assert row.changes["after"]["role"] == "therapist"


def test_users_cannot_be_added_or_hard_deleted_from_the_site(signed_in):
    patient = UserFactory()
    assert signed_in.get(reverse("admin:accounts_user_add")).status_code == 403
    assert signed_in.post(reverse("admin:accounts_user_delete", args=[patient.pk]), {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=patient.pk, deleted_at__isnull=True).exists()


# --- audit log -----------------------------------------------------------------------------------------------------


@pytest.fixture
def audit_row():
    return AuditLog.objects.create(action="user.update", resource_type="user", resource_id="x", changes={"before": {}})


def test_audit_log_is_listed_and_viewable(signed_in, audit_row):
    assert signed_in.get(AUDIT_CHANGELIST).status_code == 200
    assert signed_in.get(reverse("admin:accounts_auditlog_change", args=[audit_row.pk])).status_code == 200


def test_audit_log_cannot_be_added_changed_or_deleted_even_by_a_superuser(signed_in, audit_row):
    User.objects.filter(pk=signed_in.user.pk).update(is_superuser=True)
    change_url = reverse("admin:accounts_auditlog_change", args=[audit_row.pk])

    assert signed_in.get(reverse("admin:accounts_auditlog_add")).status_code == 403
    assert signed_in.post(reverse("admin:accounts_auditlog_add"), {"action": "forged"}).status_code == 403
    signed_in.post(change_url, {"action": "tampered", "resource_id": "y"})
    assert (
        signed_in.post(reverse("admin:accounts_auditlog_delete", args=[audit_row.pk]), {"post": "yes"}).status_code
        == 403
    )
    signed_in.post(
        AUDIT_CHANGELIST, {"action": "delete_selected", "_selected_action": [str(audit_row.pk)], "post": "yes"}
    )

    audit_row.refresh_from_db()
    assert (audit_row.action, audit_row.resource_id) == ("user.update", "x")
    assert not AuditLog.objects.filter(action="forged").exists()
    model_admin = _site_model_admin(AuditLog)
    request = _request_for(signed_in.user)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, audit_row)
    assert not model_admin.has_delete_permission(request, audit_row)
    assert "delete_selected" not in model_admin.get_actions(request)


def test_audit_log_model_refuses_changes(audit_row):
    audit_row.action = "tampered"
    with pytest.raises(PermissionError):
        audit_row.save()
    with pytest.raises(PermissionError):
        audit_row.delete()
    with pytest.raises(PermissionError):
        AuditLog.objects.filter(pk=audit_row.pk).update(action="tampered")
    with pytest.raises(PermissionError):
        AuditLog.objects.filter(pk=audit_row.pk).delete()
    audit_row.refresh_from_db()
    assert audit_row.action == "user.update"


def _site_model_admin(model):
    from django.contrib import admin

    return admin.site._registry[model]


def _request_for(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(pk=user.pk)
    return request


def test_group_admin_is_not_on_the_site_and_django_otp_is_gone():
    from django.apps import apps
    from django.contrib import admin
    from django.contrib.auth.models import Group

    assert not admin.site.is_registered(Group)
    assert not any(config.name.startswith("django_otp") for config in apps.get_app_configs())
    from staff.admin_site import StaffAdminSite

    assert isinstance(admin.site, StaffAdminSite)


def test_password_change_on_the_admin_site_is_validated_audited_and_ends_other_sessions(
    signed_in, staff_admin, make_auth_client
):
    user, password, _ = staff_admin
    api_session = make_auth_client(user, mfa_verified=True)
    page = signed_in.get("/admin/password_change/")
    assert page.status_code == 200
    assert b'name="new_password1"' in page.content

    wrong_old = signed_in.post(
        "/admin/password_change/",
        {"old_password": "x", "new_password1": "Another-pass-123!", "new_password2": "Another-pass-123!"},
    )
    assert wrong_old.status_code == 200  # the form again, with its error
    weak = signed_in.post(
        "/admin/password_change/", {"old_password": password, "new_password1": "123", "new_password2": "123"}
    )
    assert weak.status_code == 200
    user.refresh_from_db()
    assert user.check_password(password)
    assert not AuditLog.objects.filter(action="auth.password_change").exists()

    changed = signed_in.post(
        "/admin/password_change/",
        {"old_password": password, "new_password1": "Another-pass-123!", "new_password2": "Another-pass-123!"},
    )
    assert changed.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Another-pass-123!")
    assert AuditLog.objects.get(action="auth.password_change").changes["after"]["via"] == "admin_site"
    assert AuthSession.objects.get(pk=api_session.session_id).revoked_reason == "password_changed"
    assert signed_in.get(INDEX).status_code == 200  # the admin changing it stays signed in here


def test_users_have_one_admin_and_it_cannot_write_superuser_active_or_audit_fields(rf):
    """No second, editable User admin shadowed by app order: the staff one is registered and writes go through
    its audited services (suspension by action, never by ticking `is_active`)."""
    from django.contrib import admin

    from staff.admin import StaffUserAdmin

    registered = admin.site._registry[User]
    assert type(registered) is StaffUserAdmin
    readonly = set(registered.get_readonly_fields(rf.get(USERS_CHANGELIST)))
    assert {"is_superuser", "is_active", "is_verified", "deleted_at", "last_login"} <= readonly
    assert not registered.has_delete_permission(rf.get(USERS_CHANGELIST))
