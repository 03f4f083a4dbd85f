"""Calls 1-6 of docs/web-client.md (auth), sent exactly as the React app sends them."""

import pytest

from accounts.models import AuthSession, User
from tests.web_client.conftest import ADMIN_PASSWORD, WebApp, assert_error_message, enrol_admin_mfa, next_totp

pytestmark = pytest.mark.django_db


# 1. POST /auth/send-otp {email} (the typed value, even a phone number); reads nothing; error: message
@pytest.mark.parametrize("typed", ["9876501234", "+91 98765 01234", "patient@example.com"])
def test_1_send_otp_with_whatever_was_typed_in_email(web_app, typed):
    response = web_app.post("/auth/send-otp", {"email": typed})
    assert response.status_code == 200
    assert "X-CSRF-Token" not in str(web_app.sent[-1]["headers"])  # no cookie yet, so no header


def test_1_send_otp_error_has_a_message(web_app):
    body = assert_error_message(web_app.post("/auth/send-otp", {"email": "not a phone or email"}), 400)
    assert body["code"] == "validation_error"


# 2. POST /auth/verify-otp {email, otp}: reads user (or data.user) -> role, email, adminMetadata.permissions
def test_2_verify_otp_with_a_phone_number_in_email(web_app, reference_data):
    response = web_app.otp_login("9876501234")
    body = response.json()
    user = body["user"]
    assert body["data"]["user"] == user
    assert user["role"] == "patient"
    assert "email" in user  # shown on the dashboard (null for a phone sign-up; not lower-cased by the app)
    assert isinstance(user["adminMetadata"]["permissions"], list)
    # The app decides "signed in" by the readable csrf_token cookie: not HttpOnly, Path=/.
    csrf = response.cookies["csrf_token"]
    assert csrf.value
    assert not csrf["httponly"]
    assert csrf["path"] == "/"
    assert response.cookies["access_token"]["httponly"]
    assert web_app.is_authenticated()
    assert User.objects.get(phone_number="+919876501234").role == "patient"


def test_2_verify_otp_with_an_email(web_app, reference_data):
    user = web_app.otp_login("Asha@Example.com").json()["user"]
    assert user["email"] == "asha@example.com"
    assert isinstance(user["email"], str)


def test_2_verify_otp_wrong_code_shows_message(web_app):
    web_app.post("/auth/send-otp", {"email": "9876501234"})
    body = assert_error_message(web_app.post("/auth/verify-otp", {"email": "9876501234", "otp": "000000"}), 400)
    assert body["code"] == "otp_invalid"
    assert not web_app.is_authenticated()
    assert not User.objects.filter(phone_number="+919876501234").exists()


# 3. POST /auth/admin-login {email, password}: reads mfaRequired, mfaToken, user; error: message
def test_3_admin_login_not_enrolled_counts_as_done(web_app, admin_account):
    response = web_app.post("/auth/admin-login", {"email": admin_account.email, "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["mfaRequired"] is False  # falsy: the app treats the login as done and shows Settings
    assert body["user"]["role"] == "admin"
    assert web_app.is_authenticated()
    me = web_app.get("/users/me")
    assert me.status_code == 200
    assert me.json()["data"]["role"] == "admin"


def test_3_admin_login_enrolled_asks_for_mfa(web_app, admin_app, admin_account):
    response = web_app.post("/auth/admin-login", {"email": admin_account.email, "password": ADMIN_PASSWORD})
    body = response.json()
    assert response.status_code == 200
    assert body["mfaRequired"] is True
    assert isinstance(body["mfaToken"], str)
    assert body["mfaToken"]
    assert not web_app.is_authenticated()  # no cookies before the second factor


def test_3_admin_login_wrong_password_shows_message(web_app, admin_account):
    body = assert_error_message(
        web_app.post("/auth/admin-login", {"email": admin_account.email, "password": "wrong"}), 401
    )
    assert body["code"] == "invalid_credentials"
    assert not AuthSession.objects.exists()


# 4. POST /auth/admin-login/verify-mfa {mfaToken, mfaCode}: reads user; error: message
def test_4_verify_mfa_then_reload_shows_the_admin_dashboard(web_app, admin_app, admin_account):
    token = web_app.post("/auth/admin-login", {"email": admin_account.email, "password": ADMIN_PASSWORD})
    response = web_app.post(
        "/auth/admin-login/verify-mfa",
        {"mfaToken": token.json()["mfaToken"], "mfaCode": next_totp(admin_app.totp_secret)},
    )
    assert response.status_code == 200
    assert response.json()["user"]["role"] == "admin"
    assert web_app.is_authenticated()
    # After the reload the app calls /users/me: role "admin" opens the dashboard, which then works.
    assert web_app.get("/users/me").json()["data"]["role"] == "admin"
    assert web_app.get("/admin/users").status_code == 200


def test_4_verify_mfa_wrong_code_shows_message(web_app, admin_app, admin_account):
    token = web_app.post("/auth/admin-login", {"email": admin_account.email, "password": ADMIN_PASSWORD})
    wrong = "000000" if next_totp(admin_app.totp_secret) != "000000" else "111111"
    response = web_app.post("/auth/admin-login/verify-mfa", {"mfaToken": token.json()["mfaToken"], "mfaCode": wrong})
    assert assert_error_message(response, 401)["code"] == "mfa_invalid_code"
    assert not web_app.is_authenticated()


# 5. POST /auth/refresh {} without the CSRF header; only 2xx and the new cookies matter
def test_5_refresh_after_a_401_then_retry(patient_app):
    # The access cookie expired (the browser dropped it); the csrf_token and refresh cookies are still there.
    del patient_app.browser.cookies["access_token"]
    first = patient_app.get("/subscriptions/current")
    assert first.status_code == 401  # the interceptor's trigger
    refreshed = patient_app.refresh()
    assert refreshed.status_code == 200
    assert refreshed.cookies["access_token"].value
    retried = patient_app.get("/subscriptions/current")
    assert retried.status_code == 200


def test_5_refresh_with_a_live_access_cookie_needs_no_csrf_header(patient_app):
    assert patient_app.refresh().status_code == 200  # the Node server's CSRF-on-refresh bug is not kept


def test_5_failed_refresh_is_a_401_that_clears_csrf_token(patient_app):
    patient_app.browser.cookies["refresh_token"] = "stale"
    del patient_app.browser.cookies["access_token"]
    failed = patient_app.refresh()
    assert failed.status_code == 401
    assert failed.cookies["csrf_token"].value == ""


# 6. POST /auth/logout {} with the CSRF header; response ignored
def test_6_logout_ends_the_session_and_clears_csrf_token(patient_app):
    response = patient_app.post("/auth/logout", {})
    assert response.status_code == 200
    assert not patient_app.is_authenticated()  # so the next page load does not call /users/me at all
    assert AuthSession.objects.filter(revoked_at__isnull=True).count() == 0


def test_6_logout_without_csrf_header_is_refused():
    # Not something the app does (it always sends the header); a cross-site form post would.
    app = WebApp()
    app.otp_login("9876501299")
    forged = app.browser.post("/api/v1/auth/logout", data="{}", content_type="application/json")
    assert forged.status_code == 403
    assert forged.json()["code"] == "csrf_failed"
    assert AuthSession.objects.filter(revoked_at__isnull=True).count() == 1


def test_enrolment_through_settings_finishes_the_admin_login(admin_account, reference_data):
    app = WebApp()
    app.post("/auth/admin-login", {"email": admin_account.email, "password": ADMIN_PASSWORD})
    assert app.get("/admin/users").json()["code"] == "admin_mfa_required"
    enrol_admin_mfa(app)
    assert app.get("/admin/users").status_code == 200
