"""The whole product as its people meet it, over real HTTP.

A new patient signs in by OTP, has no subscription, pays for premium_monthly on the PhonePe simulator
(which sends its signed callback to our live webhook), gets the subscription, uses a premium themed room
and rates it; then an admin signs in through the real API, enrols TOTP MFA with pyotp, and sees the
patient, the payment, the analytics and the audit trail. Nothing is created behind the API's back except
the seeded reference data and the admin account (created as `createadmin` would).
"""

import time
from datetime import UTC, datetime

import pyotp
import pytest
import requests

from accounts.models import User
from accounts.roles import Role
from accounts.tests.helpers import last_code
from payments.models import Payment
from subscriptions.models import Subscription
from tests.e2e.conftest import WEBHOOK_PATH, simulator_pay

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PHONE_TYPED = "98765 01234"
PHONE_E164 = "+919876501234"
ADMIN_EMAIL = "ops-admin@manas360.test"
ADMIN_PASSWORD = "Journey-admin-pass-1!"


class Api:
    """A plain HTTP client of the API (what a mobile app or curl does): Bearer token once signed in."""

    def __init__(self, base_url: str):
        self.base = base_url + "/api/v1"
        self.http = requests.Session()
        self.token: str | None = None

    def call(self, method: str, path: str, expected: int, **kwargs) -> dict:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = self.http.request(method, self.base + path, headers=headers, timeout=30, **kwargs)
        assert response.status_code == expected, f"{method} {path}: {response.status_code} {response.text}"
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.headers.get("X-Request-ID")
        return response.json()


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_patient_pays_uses_a_premium_room_and_the_admin_sees_it_all(live_server, phonepe, reference_data):
    phonepe.callback_url = live_server.url + WEBHOOK_PATH
    patient = Api(live_server.url)

    # 1. Send the OTP (the code arrives through the test capturing channel, never in the response).
    sent = patient.call("POST", "/auth/send-otp", 200, json={"phone": PHONE_TYPED})
    assert sent["success"] is True
    assert sent["data"]["expiresIn"] == 300
    assert "devOtp" not in sent["data"]
    code = last_code()

    # 2. Verify it: first sign-in creates the patient.
    verified = patient.call("POST", "/auth/verify-otp", 200, json={"phone": PHONE_TYPED, "otp": code})
    assert verified["data"]["isNewUser"] is True
    assert verified["user"]["phoneNumber"] == PHONE_E164
    assert verified["user"]["role"] == "patient"
    patient.token = verified["data"]["tokens"]["accessToken"]
    user_id = verified["user"]["id"]
    assert patient.call("GET", "/users/me", 200)["data"]["id"] == user_id

    # 3. No active subscription yet; a premium room is refused with 402.
    no_sub = patient.call("GET", "/subscriptions/active", 404)
    assert no_sub["code"] == "no_active_subscription"
    assert patient.call("GET", "/subscriptions/current", 200)["subscription"] is None
    refused = patient.call("POST", "/themed-rooms/sessions", 402, json={"themeId": "green-tea"})
    assert refused["code"] == "subscription_required"

    # 4. Create the payment for premium_monthly (₹299).
    created = patient.call(
        "POST", "/payments/create", 201, json={"planId": "premium_monthly"}, headers={"Idempotency-Key": "journey-1"}
    )["data"]
    assert created["status"] == "pending"
    assert created["amountPaise"] == 29900
    assert created["paymentGateway"] == "PhonePe"
    assert created["redirectUrl"].startswith(phonepe.url)
    checkout = requests.get(created["redirectUrl"], timeout=10)
    assert checkout.status_code == 200
    assert "299.00" in checkout.text

    # 5. The simulator pays; its signed callback reaches our live webhook and is accepted.
    paid = simulator_pay(phonepe, created["transactionId"])
    assert paid["webhook"] == {"delivered": True, "status": 200}

    # 6. The subscription is active, by every way of asking.
    payment = patient.call("GET", f"/payments/{created['transactionId']}", 200)["data"]
    assert payment["status"] == "success"
    active = patient.call("GET", "/subscriptions/active", 200)["data"]
    assert active["planId"] == "premium_monthly"
    assert active["status"] == "active"
    assert payment["subscription"]["id"] == active["id"]
    current = patient.call("GET", "/subscriptions/current", 200)["subscription"]
    assert current["status"] == "active"
    assert "premium_themed_rooms" in current["features"]
    me = patient.call("GET", "/users/me", 200)["data"]
    assert me["subscription"] is not None
    themes = patient.call("GET", "/themed-rooms/themes?limit=50", 200)["themes"]
    assert next(t for t in themes if t["id"] == "green-tea")["locked"] is False

    # 7. A premium themed-room session, ended with a rating.
    session = patient.call(
        "POST",
        "/themed-rooms/sessions",
        201,
        json={"themeId": "green-tea", "moodBefore": 4, "deviceType": "vr", "deviceInfo": {"os": "android"}},
    )["data"]
    assert session["themeId"] == "green-tea"
    time.sleep(1.1)  # a measurable duration
    ended = patient.call(
        "PATCH",
        f"/themed-rooms/sessions/{session['sessionId']}/end",
        200,
        json={"rating": 5, "moodAfter": 7, "feedback": "calming", "completedFullTimer": True},
    )["data"]
    assert ended["rating"] == 5
    assert ended["duration"] >= 1
    detail = patient.call("GET", f"/themed-rooms/sessions/{session['sessionId']}", 200)["data"]
    assert detail["status"] == "completed"
    again = patient.call("PATCH", f"/themed-rooms/sessions/{session['sessionId']}/end", 409, json={"rating": 1})
    assert again["code"] == "session_already_ended"

    # 8. An admin (created as `manage.py createadmin` does) signs in through the API and enrols TOTP MFA.
    User.objects.create_user(
        email=ADMIN_EMAIL, password=ADMIN_PASSWORD, role=Role.ADMIN, is_staff=True, is_verified=True
    )
    admin = Api(live_server.url)
    login = admin.call("POST", "/auth/admin-login", 200, json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert login["mfaRequired"] is False
    assert login["mfaEnrollmentRequired"] is True
    admin.token = login["data"]["tokens"]["accessToken"]
    # The restricted session reaches only the MFA enrolment endpoints.
    assert admin.call("GET", "/admin/users", 403)["code"] == "admin_mfa_required"
    assert admin.call("GET", "/admin/mfa/status", 200)["data"]["mfaEnabled"] is False
    secret = admin.call("POST", "/admin/mfa/generate-secret", 200, json={})["data"]
    assert secret["qrCode"].startswith("data:image/")
    assert len(secret["backupCodes"]) == 10
    totp = pyotp.TOTP(secret["secret"])
    admin.call("POST", "/admin/mfa/enable", 200, json={"secret": secret["secret"], "mfaCode": totp.now()})
    assert admin.call("GET", "/admin/mfa/status", 200)["data"]["mfaEnabled"] is True

    # A fresh sign-in now asks for the second factor (the code of the next 30 s step is within the window,
    # and the one just used for enrolment may not be used twice).
    admin.token = None
    second = admin.call("POST", "/auth/admin-login", 200, json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert second["mfaRequired"] is True
    mfa_code = totp.at(time.time() + 30)
    signed_in = admin.call(
        "POST", "/auth/admin-login/verify-mfa", 200, json={"mfaToken": second["mfaToken"], "mfaCode": mfa_code}
    )
    assert signed_in["user"]["role"] == "admin"
    admin.token = signed_in["data"]["tokens"]["accessToken"]

    # 9. Analytics reflect the session, its completion and rating, and the revenue.
    dates = f"startDate={_today()}&endDate={_today()}"
    overview = admin.call("GET", f"/analytics/overview?{dates}", 200)["data"]
    assert overview["totalSessions"] == 1
    assert overview["completedSessions"] == 1
    assert overview["completionRate"] == 100
    assert overview["uniquePatients"] == 1
    assert overview["avgRating"] == 5
    assert overview["revenue"] == 29900
    assert overview["activeSubscriptions"] == 1
    sessions = admin.call("GET", f"/analytics/sessions?{dates}", 200)["data"]
    assert sum(row["total"] for row in sessions["byType"]) == 1
    assert [row["category"] for row in sessions["byMode"]] == ["vr"]
    outcomes = admin.call("GET", f"/analytics/outcomes?{dates}", 200)["data"]
    mood = next(row for row in outcomes["byAssessmentType"] if row["type"] == "MOOD")
    assert mood["count"] == 1
    assert mood["avgImprovement"] == 3
    dashboard = admin.call("GET", "/analytics/dashboard?period=7d", 200)["data"]
    assert dashboard["summary"]["revenue"] == 29900
    assert dashboard["summary"]["totalSessions"] == 1
    metrics = admin.call("GET", "/admin/metrics", 200)["data"]
    assert metrics["sessions"] == {"total": 1, "completed": 1, "completionRate": 100.0}
    assert metrics["subscriptions"]["active"] == 1
    assert metrics["subscriptions"]["revenue"] == 29900

    # 10. The admin API shows the user, the payment and the audit trail.
    users = admin.call("GET", "/admin/users?search=9876501234", 200)
    assert [row["id"] for row in users["data"]] == [user_id]
    row = users["data"][0]
    assert row["phoneNumber"] == PHONE_E164
    assert isinstance(row["fullName"], str)
    assert isinstance(row["email"], str)
    assert row["subscription"]["planId"] == "premium_monthly"
    user_detail = admin.call("GET", f"/admin/users/{user_id}", 200)["data"]
    assert user_detail["sessionCount"] == 1
    assert user_detail["completedSessionCount"] == 1
    payments = admin.call("GET", "/admin/payments?status=success", 200)["data"]
    assert [(p["transactionId"], p["amountPaise"], p["planId"]) for p in payments] == [
        (created["transactionId"], 29900, "premium_monthly")
    ]
    assert payments[0]["user"]["id"] == user_id
    subscriptions = admin.call("GET", "/admin/subscriptions?status=active", 200)["data"]
    assert [s["user"]["id"] for s in subscriptions] == [user_id]

    trail = admin.call("GET", f"/admin/audit-logs?resourceId={created['id']}", 200)["data"]
    changes = [(entry["action"], entry["changes"]["before"], entry["changes"]["after"]) for entry in trail]
    assert any(action == "payment.state_change" for action, _, _ in changes), changes
    state_change = next(entry for entry in trail if entry["action"] == "payment.state_change")
    assert "success" in str(state_change["changes"]["after"])
    assert state_change["requestId"]
    admin_actions = {
        entry["action"] for entry in admin.call("GET", f"/admin/audit-logs?actor={ADMIN_EMAIL}&limit=100", 200)["data"]
    }
    assert {"auth.admin_login.success", "auth.mfa.enable"} <= admin_actions

    # The database agrees with what the API said.
    assert Payment.objects.get(pk=created["id"]).status == "success"
    assert Subscription.objects.filter(user_id=user_id, status="active").count() == 1
