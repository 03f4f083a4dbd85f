"""Every admin endpoint: anonymous 401, patient 403 permission_denied, admin without MFA 403 admin_mfa_required.

Writes refused this way change nothing and write no audit row.
"""

import pytest

from accounts.models import AuditLog, User
from accounts.tests.factories import UserFactory
from staff.tests.factories import TherapistFactory
from subscriptions.tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/v1/admin/users"),
    ("get", "/api/v1/admin/users/{target}"),
    ("patch", "/api/v1/admin/users/{target}"),
    ("delete", "/api/v1/admin/users/{target}"),
    ("put", "/api/v1/admin/users/{target}/suspend"),
    ("delete", "/api/v1/admin/users/{target}/suspend"),
    ("get", "/api/v1/admin/therapists"),
    ("patch", "/api/v1/admin/therapists/{therapist}/verify"),
    ("get", "/api/v1/admin/subscriptions"),
    ("patch", "/api/v1/admin/subscriptions/{subscription}/cancel"),
    ("get", "/api/v1/admin/payments"),
    ("get", "/api/v1/admin/metrics"),
    ("get", "/api/v1/admin/audit-logs"),
]

BODIES = {"patch": {"firstName": "Changed", "verified": True}, "put": {}, "delete": None, "get": None}


@pytest.fixture
def targets():
    target = UserFactory(first_name="Target")
    therapist = TherapistFactory()
    subscription = SubscriptionFactory(user=target)
    return {"target": target.pk, "therapist": therapist.pk, "subscription": subscription.pk}


def _call(client, method, url, targets):
    body = BODIES[method]
    kwargs = {"format": "json"} if body is not None else {}
    return (
        getattr(client, method)(url.format(**targets), body, **kwargs)
        if body is not None
        else getattr(client, method)(url.format(**targets))
    )


def _snapshot():
    users = list(User.objects.order_by("pk").values_list("pk", "first_name", "is_active", "is_verified", "deleted_at"))
    return users, AuditLog.objects.count()


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_is_401(api_client, targets, method, url):
    before = _snapshot()
    response = _call(api_client, method, url, targets)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert _snapshot() == before


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_patient_is_403_permission_denied(auth_client, targets, method, url):
    before = _snapshot()
    response = _call(auth_client, method, url, targets)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert _snapshot() == before


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_therapist_is_403_permission_denied(make_auth_client, targets, method, url):
    client = make_auth_client(TherapistFactory(is_verified=True))
    response = _call(client, method, url, targets)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_admin_without_completed_mfa_is_403_admin_mfa_required(make_auth_client, admin_user, targets, method, url):
    client = make_auth_client(admin_user, mfa_verified=False)
    before = _snapshot()
    response = _call(client, method, url, targets)
    assert response.status_code == 403
    assert response.json()["code"] == "admin_mfa_required"
    assert _snapshot() == before


@pytest.mark.parametrize(("method", "url"), [endpoint for endpoint in ENDPOINTS if endpoint[0] == "get"])
def test_admin_with_mfa_gets_in(admin_client, targets, method, url):
    response = _call(admin_client, method, url, targets)
    assert response.status_code == 200, response.json()
    assert response.json()["success"] is True
