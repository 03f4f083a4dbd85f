"""Calls 10-19 and the declared d7-d12 of docs/web-client.md: the admin dashboard."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from accounts.models import AuditLog, MfaDevice, User
from tests.web_client.conftest import ADMIN_PASSWORD, WebApp, assert_error_message, enrol_admin_mfa, next_totp

pytestmark = pytest.mark.django_db


def _range(days: int = 30) -> str:
    """useAnalytics' default: the last 30 days as YYYY-MM-DD."""
    end = datetime.now(UTC).date()
    return f"startDate={(end - timedelta(days=days)).isoformat()}&endDate={end.isoformat()}"


@pytest.fixture
def activity(db, reference_data):
    """One patient with a completed, rated room session (so the numbers are not all zero)."""
    app = WebApp()
    app.otp_login("9876501234")
    started = app.post("/themed-rooms/sessions", {"themeId": "ocean-waves", "moodBefore": 3}).json()["data"]
    ended = app.patch(f"/themed-rooms/sessions/{started['sessionId']}/end", {"rating": 4, "moodAfter": 6})
    assert ended.status_code == 200
    return app


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# 10. GET /analytics/overview?startDate&endDate: data.{totalSessions, completionRate, uniquePatients,
#     avgPhq9Improvement, avgRating, avgDuration}, numbers; error: `error`
def test_10_overview(admin_app, activity):
    response = admin_app.get("/analytics/overview", query=_range())
    assert response.status_code == 200
    data = response.json()["data"]
    for key in ("totalSessions", "completionRate", "uniquePatients", "avgPhq9Improvement", "avgRating", "avgDuration"):
        assert _is_number(data[key]), key
    assert data["totalSessions"] == 1
    assert data["completionRate"] == 100
    assert data["uniquePatients"] == 1
    assert data["avgRating"] == 4


def test_10_overview_error_is_in_error(admin_app):
    body = assert_error_message(
        admin_app.get("/analytics/overview", query="startDate=2026-13-01&endDate=2026-01-01"), 400, field="error"
    )
    assert body["code"] == "invalid_date_range"


# 11. GET /analytics/sessions: data.byType[] {category,total,completionRate}, data.byMode[] {category,total,avgRating}
def test_11_sessions_breakdown(admin_app, activity):
    data = admin_app.get("/analytics/sessions", query=_range()).json()["data"]
    assert isinstance(data["byType"], list)
    assert isinstance(data["byMode"], list)
    assert data["byType"]
    for row in data["byType"]:
        assert isinstance(row["category"], str)
        assert _is_number(row["total"])
        assert _is_number(row["completionRate"])
    for row in data["byMode"]:
        assert isinstance(row["category"], str)
        assert _is_number(row["total"])
        assert _is_number(row["avgRating"])


def test_11_sessions_breakdown_empty_range_still_has_arrays(admin_app):
    data = admin_app.get("/analytics/sessions", query="startDate=2020-01-01&endDate=2020-01-31").json()["data"]
    assert data["byType"] == []
    assert data["byMode"] == []


# 12. GET /analytics/outcomes: data.byAssessmentType[] {type,count,avgPreScore,avgPostScore,avgImprovement,
#     improvementRate} (parseFloat'ed by the app: numbers are fine)
def test_12_outcomes(admin_app, activity):
    rows = admin_app.get("/analytics/outcomes", query=_range()).json()["data"]["byAssessmentType"]
    assert isinstance(rows, list)
    mood = next(row for row in rows if row["type"] == "MOOD")
    for key in ("count", "avgPreScore", "avgPostScore", "avgImprovement", "improvementRate"):
        assert _is_number(mood[key]), key
    assert mood["avgImprovement"] == 3


# 13, 14. GET /analytics/export/excel|pdf via window.open: cookies only, no CSRF header, no Origin
@pytest.mark.parametrize(
    ("path", "content_type", "extension"),
    [
        ("/analytics/export/excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
        ("/analytics/export/pdf", "application/pdf", "pdf"),
    ],
)
def test_13_14_exports_open_in_a_new_tab(admin_app, activity, path, content_type, extension):
    end = datetime.now(UTC).date()
    start = end - timedelta(days=30)
    response = admin_app.open_window(path, query=f"startDate={start}&endDate={end}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert f"MANAS360_Analytics_{start}_{end}.{extension}" in disposition
    assert len(b"".join(response.streaming_content) if response.streaming else response.content) > 100


def test_13_exports_are_not_for_patients(patient_app):
    assert patient_app.open_window("/analytics/export/excel", query=_range()).status_code == 403


# 15. GET /admin/users (no query): data[] {id, email, fullName (non-null strings: lower-cased), role, isActive,
#     isVerified, created_at}
def test_15_user_management(admin_app, activity):
    User.objects.create(phone_number="+919876500077", first_name="", last_name="")  # no email, no name
    response = admin_app.get("/admin/users")
    assert response.status_code == 200
    rows = response.json()["data"]
    assert len(rows) == 3
    for row in rows:
        assert isinstance(row["id"], str)
        assert isinstance(row["email"], str)
        assert isinstance(row["fullName"], str)
        assert isinstance(row["role"], str)
        assert isinstance(row["isActive"], bool)
        assert isinstance(row["isVerified"], bool)
        assert isinstance(row["created_at"], str)


def test_15_user_management_needs_completed_mfa(admin_account, reference_data):
    app = WebApp()
    app.post("/auth/admin-login", {"email": admin_account.email, "password": ADMIN_PASSWORD})
    body = assert_error_message(app.get("/admin/users"), 403)
    assert body["code"] == "admin_mfa_required"


# 16. GET /admin/mfa/status: data.mfaEnabled
def test_16_mfa_status(admin_account, reference_data):
    app = WebApp()
    app.post("/auth/admin-login", {"email": admin_account.email, "password": ADMIN_PASSWORD})
    assert app.get("/admin/mfa/status").json()["data"]["mfaEnabled"] is False
    enrol_admin_mfa(app)
    assert app.get("/admin/mfa/status").json()["data"]["mfaEnabled"] is True


def test_16_mfa_status_is_for_admins_only(patient_app):
    assert_error_message(patient_app.get("/admin/mfa/status"), 403)


# 17. POST /admin/mfa/generate-secret {}: data.secret, data.qrCode (img src), data.backupCodes[]
def test_17_generate_secret(admin_account, reference_data):
    app = WebApp()
    app.post("/auth/admin-login", {"email": admin_account.email, "password": ADMIN_PASSWORD})
    response = app.post("/admin/mfa/generate-secret", {})
    assert response.status_code == 200
    data = response.json()["data"]
    assert isinstance(data["secret"], str)
    assert len(pyotp.TOTP(data["secret"]).now()) == 6
    assert data["qrCode"].startswith("data:image/")
    assert isinstance(data["backupCodes"], list)
    assert len(data["backupCodes"]) == 10
    assert all(isinstance(code, str) for code in data["backupCodes"])


# 18. POST /admin/mfa/enable {secret, mfaCode}: 2xx; error: message
def test_18_enable_wrong_code_shows_message(admin_account, reference_data):
    app = WebApp()
    app.post("/auth/admin-login", {"email": admin_account.email, "password": ADMIN_PASSWORD})
    secret = app.post("/admin/mfa/generate-secret", {}).json()["data"]["secret"]
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    body = assert_error_message(app.post("/admin/mfa/enable", {"secret": secret, "mfaCode": wrong}), 401)
    assert body["code"] == "mfa_invalid_code"
    assert app.get("/admin/mfa/status").json()["data"]["mfaEnabled"] is False


def test_18_enable(admin_account, reference_data):
    app = WebApp()
    app.post("/auth/admin-login", {"email": admin_account.email, "password": ADMIN_PASSWORD})
    enrol_admin_mfa(app)
    assert MfaDevice.objects.get(user=admin_account).is_enabled is True
    assert AuditLog.objects.filter(action="auth.mfa.enable", actor=admin_account).count() == 1


# 19. POST /admin/mfa/disable {}: deliberate difference — turning the second factor off needs proof
def test_19_disable_with_empty_body_is_refused_with_a_message(admin_app, admin_account):
    body = assert_error_message(admin_app.post("/admin/mfa/disable", {}), 400)
    assert body["code"] == "validation_error"
    assert admin_app.get("/admin/mfa/status").json()["data"]["mfaEnabled"] is True


def test_19_disable_with_a_current_code(admin_app, admin_account):
    response = admin_app.post("/admin/mfa/disable", {"mfaCode": next_totp(admin_app.totp_secret)})
    assert response.status_code == 200
    assert admin_app.get("/admin/mfa/status").json()["data"]["mfaEnabled"] is False


# d7. GET /admin/users/{id}
def test_d7_admin_user_detail(admin_app, activity):
    patient = User.objects.get(phone_number="+919876501234")
    data = admin_app.get(f"/admin/users/{patient.pk}").json()["data"]
    assert data["id"] == str(patient.pk)
    assert data["sessionCount"] == 1


# d8, d9. PUT / DELETE /admin/users/{id}/suspend with no body
def test_d8_d9_suspend_and_reinstate(admin_app, activity):
    patient = User.objects.get(phone_number="+919876501234")
    assert admin_app.put(f"/admin/users/{patient.pk}/suspend").status_code == 200
    assert activity.get("/users/me").json()["code"] == "account_suspended"  # at once, not at token expiry
    assert admin_app.delete(f"/admin/users/{patient.pk}/suspend").status_code == 200
    patient.refresh_from_db()
    assert patient.is_active is True


# d10. PATCH /admin/therapists/{id}/verify with no body: reads data
def test_d10_verify_therapist(admin_app):
    therapist = User.objects.create(email="t@example.com", role="therapist", is_verified=False)
    response = admin_app.patch(f"/admin/therapists/{therapist.pk}/verify")
    assert response.status_code == 200
    assert response.json()["data"]["isVerified"] is True


# d11. GET /admin/metrics: data.{users:{total,patients,therapists,verifiedTherapists}, sessions:{total,completed,
#      completionRate}, subscriptions:{active,revenue}}
def test_d11_metrics(admin_app, activity):
    data = admin_app.get("/admin/metrics").json()["data"]
    for group, keys in {
        "users": ("total", "patients", "therapists", "verifiedTherapists"),
        "sessions": ("total", "completed", "completionRate"),
        "subscriptions": ("active", "revenue"),
    }.items():
        for key in keys:
            assert _is_number(data[group][key]), (group, key)
    assert data["sessions"]["completed"] == 1


# d12. GET /admin/subscriptions: data[] {id, planName, status, amount, currency, startDate, endDate,
#      User:{fullName,email}}
def test_d12_subscriptions(admin_app, activity):
    from django.utils import timezone

    from subscriptions.models import Plan, Subscription

    patient = User.objects.get(phone_number="+919876501234")
    Subscription.objects.create(
        user=patient,
        plan=Plan.objects.get(code="premium_monthly"),
        status="active",
        start_date=timezone.now(),
        end_date=timezone.now() + timedelta(days=30),
    )
    rows = admin_app.get("/admin/subscriptions", query="status=active").json()["data"]
    assert len(rows) == 1
    row = rows[0]
    for key in ("id", "planName", "status", "currency", "startDate", "endDate"):
        assert isinstance(row[key], str), key
    assert _is_number(row["amount"])
    assert isinstance(row["User"]["fullName"], str)
    assert isinstance(row["User"]["email"], str)
