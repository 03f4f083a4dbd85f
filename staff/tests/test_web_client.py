"""The admin dashboard as the web app calls it: cookies, X-CSRF-Token, no query string, no body."""

import pytest

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from staff.tests.factories import TherapistFactory

pytestmark = pytest.mark.django_db


def test_user_management_tab(cookie_client_for, admin_user):
    UserFactory(first_name="", last_name="", email=None, phone_number="+917055500011")
    client = cookie_client_for(admin_user, mfa_verified=True)

    response = client.get("/api/v1/admin/users")

    assert response.status_code == 200
    rows = response.json()["data"]
    assert isinstance(rows, list)
    for row in rows:  # the UI lower-cases both and reads these keys
        assert isinstance(row["fullName"], str)
        assert isinstance(row["email"], str)
        assert {"id", "role", "isActive", "isVerified", "created_at"} <= set(row)


def test_suspend_and_unsuspend_without_body(cookie_client_for, admin_user):
    patient = UserFactory()
    client = cookie_client_for(admin_user, mfa_verified=True)

    assert client.put(f"/api/v1/admin/users/{patient.pk}/suspend").status_code == 200
    assert client.delete(f"/api/v1/admin/users/{patient.pk}/suspend").status_code == 200
    assert list(AuditLog.objects.order_by("timestamp").values_list("action", flat=True)) == [
        "user.suspend",
        "user.reinstate",
    ]


def test_cookie_write_without_csrf_header_is_refused(cookie_client_for, admin_user):
    patient = UserFactory()
    client = cookie_client_for(admin_user, mfa_verified=True, csrf_header=False)

    response = client.put(f"/api/v1/admin/users/{patient.pk}/suspend")

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    patient.refresh_from_db()
    assert patient.is_active is True
    assert not AuditLog.objects.exists()


def test_dead_client_shapes(cookie_client_for, admin_user):
    therapist = TherapistFactory(is_verified=False)
    client = cookie_client_for(admin_user, mfa_verified=True)

    metrics = client.get("/api/v1/admin/metrics").json()["data"]
    verify = client.patch(f"/api/v1/admin/therapists/{therapist.pk}/verify")
    subscriptions = client.get("/api/v1/admin/subscriptions").json()

    assert set(metrics) == {"users", "sessions", "subscriptions"}
    assert {"total", "patients", "therapists", "verifiedTherapists"} <= set(metrics["users"])
    assert {"total", "completed", "completionRate"} <= set(metrics["sessions"])
    assert {"active", "revenue"} <= set(metrics["subscriptions"])
    assert verify.status_code == 200
    assert verify.json()["data"]["isVerified"] is True
    assert subscriptions["data"] == []
