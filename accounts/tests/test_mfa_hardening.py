"""Admin MFA edge cases found in review (docs/api.md §2 `verify-mfa`, §7 `/admin/mfa/*`, §11 "Admin MFA")."""

import pyotp
import pytest
from rest_framework.test import APIClient

from accounts.models import AuthSession, LoginFailure, MfaDevice
from accounts.tests.factories import AdminFactory, MfaDeviceFactory
from accounts.tests.helpers import ADMIN_LOGIN, VERIFY_MFA

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-horse-42!"
GENERATE = "/api/v1/admin/mfa/generate-secret"
ENABLE = "/api/v1/admin/mfa/enable"
DISABLE = "/api/v1/admin/mfa/disable"
# Six characters for which str.isdigit() is true but that are not ASCII digits.
NON_ASCII_DIGITS = ["\u0661\u0662\u0663\u0664\u0665\u0666", "\uff11\uff12\uff13\uff14\uff15\uff16", "12345\u00b2"]


def _csrf(client):
    return {"HTTP_X_CSRF_TOKEN": client.cookies["csrf_token"].value}


@pytest.mark.parametrize("code", NON_ASCII_DIGITS)
def test_verify_mfa_with_non_ascii_digits_is_a_wrong_code_not_a_500(code):
    admin = AdminFactory(password=PASSWORD)
    MfaDeviceFactory(user=admin)
    client = APIClient(raise_request_exception=False)
    login = client.post(ADMIN_LOGIN, {"email": admin.email, "password": PASSWORD}, format="json")
    token = login.json()["data"]["mfaToken"]

    response = client.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": code}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_invalid_code"
    assert LoginFailure.objects.filter(user=admin).count() == 1
    assert not AuthSession.objects.filter(user=admin).exists()


@pytest.mark.parametrize("code", NON_ASCII_DIGITS)
def test_enable_with_non_ascii_digits_is_a_wrong_code_not_a_500(code):
    admin = AdminFactory(password=PASSWORD)
    client = APIClient(raise_request_exception=False)
    client.post(ADMIN_LOGIN, {"email": admin.email, "password": PASSWORD}, format="json")
    assert client.post(GENERATE, {}, format="json", **_csrf(client)).status_code == 200

    response = client.post(ENABLE, {"mfaCode": code}, format="json", **_csrf(client))

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_invalid_code"
    assert MfaDevice.objects.get(user=admin).is_enabled is False


def test_enable_ends_the_accounts_other_password_only_sessions():
    """A session opened with the password before enrolment must not outlive it (it could disable MFA)."""
    admin = AdminFactory(password=PASSWORD)
    earlier = APIClient()
    earlier.post(ADMIN_LOGIN, {"email": admin.email, "password": PASSWORD}, format="json")
    owner = APIClient()
    owner.post(ADMIN_LOGIN, {"email": admin.email, "password": PASSWORD}, format="json")
    secret = owner.post(GENERATE, {}, format="json", **_csrf(owner)).json()["data"]["secret"]
    enabled = owner.post(ENABLE, {"mfaCode": pyotp.TOTP(secret).now()}, format="json", **_csrf(owner))
    assert enabled.status_code == 200

    response = earlier.post(DISABLE, {"password": PASSWORD}, format="json", **_csrf(earlier))

    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"
    assert MfaDevice.objects.get(user=admin).is_enabled is True
    live = AuthSession.objects.filter(user=admin, revoked_at__isnull=True)
    assert list(live.values_list("mfa_completed", flat=True)) == [True]
    assert owner.get("/api/v1/admin/mfa/status").status_code == 200
