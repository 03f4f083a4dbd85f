"""Malformed bodies on the sign-in endpoints are reported as such and change nothing (docs/api.md §11).

These endpoints have throttles that read the body to find the identifier; the
throttle must not hide the parse error behind a misleading field error.
"""

import pytest

from accounts.models import AuditLog, LoginFailure, OtpChallenge, User

pytestmark = pytest.mark.django_db

SIGN_IN_PATHS = [
    "/api/v1/auth/send-otp",
    "/api/v1/auth/verify-otp",
    "/api/v1/auth/login",
    "/api/v1/auth/admin-login",
    "/api/v1/auth/admin-login/verify-mfa",
]


@pytest.mark.parametrize("path", SIGN_IN_PATHS)
def test_malformed_json_is_invalid_json_and_writes_nothing(client, path):
    users_before = User.objects.count()
    response = client.post(path, data='{"phone": "+91 98765', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert User.objects.count() == users_before
    assert not OtpChallenge.objects.exists()
    assert not LoginFailure.objects.exists()
    assert not AuditLog.objects.exists()
