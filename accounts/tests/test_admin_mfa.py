"""Admin sign-in with TOTP MFA, enrolment, lockout (docs/api.md §2, §7, §11 "Admin MFA")."""

import time
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditLog, AuthSession, LoginFailure, MfaBackupCode, MfaDevice
from accounts.tests.factories import AdminFactory, MfaDeviceFactory, UserFactory
from accounts.tests.helpers import ADMIN_LOGIN, ME, VERIFY_MFA

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-horse-42!"
STATUS = "/api/v1/admin/mfa/status"
GENERATE = "/api/v1/admin/mfa/generate-secret"
ENABLE = "/api/v1/admin/mfa/enable"
DISABLE = "/api/v1/admin/mfa/disable"


def _admin(**fields):
    return AdminFactory(password=PASSWORD, **fields)


def _enrolled_admin(secret=None):
    admin = _admin()
    secret = secret or pyotp.random_base32()
    MfaDeviceFactory(user=admin, secret=secret)
    return admin, secret


def _login(client, email, password=PASSWORD):
    return client.post(ADMIN_LOGIN, {"email": email, "password": password}, format="json")


def _csrf(client):
    return {"HTTP_X_CSRF_TOKEN": client.cookies["csrf_token"].value}


def test_admin_enrols_mfa_from_scratch_then_signs_in_with_password_and_totp():
    admin = _admin()
    browser = APIClient()
    first = _login(browser, admin.email)
    assert first.status_code == 200
    body = first.json()
    assert body["mfaRequired"] is False
    assert body["mfaEnrollmentRequired"] is True
    assert body["user"]["role"] == "admin"
    # The restricted session may enrol but not use the admin area.
    assert browser.get(STATUS).json()["data"]["mfaEnabled"] is False
    assert browser.get(ME).status_code == 200
    blocked = browser.get("/api/v1/users/" + str(UserFactory().pk))
    assert blocked.status_code == 403
    assert blocked.json()["code"] == "admin_mfa_required"

    generated = browser.post(GENERATE, {}, format="json", **_csrf(browser))
    assert generated.status_code == 200
    data = generated.json()["data"]
    assert data["qrCode"].startswith("data:image/png;base64,")
    assert data["otpauthUrl"].startswith("otpauth://totp/")
    assert len(data["backupCodes"]) == 10
    assert len(set(data["backupCodes"])) == 10
    secret = data["secret"]
    device = MfaDevice.objects.get(user=admin)
    assert secret not in device.pending_secret_encrypted
    assert device.is_enabled is False

    code = pyotp.TOTP(secret).now()
    enabled = browser.post(ENABLE, {"secret": secret, "mfaCode": code}, format="json", **_csrf(browser))
    assert enabled.status_code == 200
    assert browser.get(STATUS).json()["data"]["mfaEnabled"] is True
    assert AuthSession.objects.get(user=admin).mfa_completed is True
    assert AuditLog.objects.filter(action="auth.mfa.enable", actor=admin).exists()
    assert MfaBackupCode.objects.filter(device__user=admin).count() == 10

    # A fresh sign-in now needs the second factor.
    fresh = APIClient()
    step_one = _login(fresh, admin.email)
    assert step_one.status_code == 200
    assert step_one.json()["mfaRequired"] is True
    mfa_token = step_one.json()["mfaToken"]
    assert "access_token" not in step_one.cookies
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        next_code = pyotp.TOTP(secret).now()
        verified = fresh.post(VERIFY_MFA, {"mfaToken": mfa_token, "mfaCode": next_code}, format="json")
    assert verified.status_code == 200
    assert verified.json()["user"]["role"] == "admin"
    assert verified.json()["csrfToken"] == verified.cookies["csrf_token"].value
    new_session = AuthSession.objects.filter(user=admin).order_by("-created_at").first()
    assert new_session.mfa_completed is True
    assert AuditLog.objects.filter(action="auth.admin_login.success", actor=admin).count() == 2


def test_enable_with_wrong_code_is_refused_and_mfa_stays_off():
    admin = _admin()
    client = APIClient()
    _login(client, admin.email)
    secret = client.post(GENERATE, {}, format="json", **_csrf(client)).json()["data"]["secret"]
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    response = client.post(ENABLE, {"mfaCode": wrong}, format="json", **_csrf(client))
    assert response.status_code == 401
    assert response.json()["code"] == "mfa_invalid_code"
    assert MfaDevice.objects.get(user=admin).is_enabled is False
    assert AuthSession.objects.get(user=admin).mfa_completed is False


def test_enable_without_generated_secret_is_400(make_auth_client):
    client = make_auth_client(_admin())
    response = client.post(ENABLE, {"mfaCode": "123456"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "mfa_setup_required"


@pytest.mark.parametrize(
    "body",
    [{"email": "nobody@example.com", "password": PASSWORD}, {"email": "ADMIN", "password": "wrong"}, {}],
)
def test_unknown_wrong_and_missing_credentials_look_alike(api_client, body):
    admin = _admin()
    if body.get("email") == "ADMIN":
        body = {"email": admin.email, "password": "wrong-password"}
    response = api_client.post(ADMIN_LOGIN, body, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert response.json()["message"] == "Invalid email or password."
    assert "access_token" not in response.cookies


def test_non_admin_with_right_password_looks_like_wrong_password(api_client):
    patient = UserFactory(password=PASSWORD)
    response = _login(api_client, patient.email)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert not AuthSession.objects.exists()


def test_admin_login_failure_and_success_are_audited(api_client):
    admin = _admin()
    _login(api_client, admin.email, "wrong-password")
    _login(api_client, admin.email)
    assert AuditLog.objects.filter(action="auth.admin_login.failure", actor=admin).count() == 1
    assert AuditLog.objects.filter(action="auth.admin_login.success", actor=admin).count() == 1


def test_mfa_token_is_single_use():
    admin, secret = _enrolled_admin()
    client = APIClient()
    token = _login(client, admin.email).json()["mfaToken"]
    assert (
        client.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": pyotp.TOTP(secret).now()}, format="json").status_code
        == 200
    )
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        again = client.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": pyotp.TOTP(secret).now()}, format="json")
    assert again.status_code == 401
    assert again.json()["code"] == "mfa_token_invalid"


def test_mfa_token_expires_after_five_minutes():
    admin, secret = _enrolled_admin()
    client = APIClient()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        token = _login(client, admin.email).json()["mfaToken"]
    with time_machine.travel(start + timedelta(minutes=5, seconds=1), tick=False):
        response = client.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": pyotp.TOTP(secret).now()}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "mfa_token_invalid"


def test_mfa_token_is_refused_as_an_access_token_everywhere():
    admin, _ = _enrolled_admin()
    token = _login(APIClient(), admin.email).json()["mfaToken"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    for path in (ME, STATUS, "/api/v1/subscriptions/current"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "token_invalid"
    cookie_client = APIClient()
    cookie_client.cookies["access_token"] = token
    assert cookie_client.get(ME).json()["code"] == "token_invalid"


def test_garbage_mfa_token_is_mfa_token_invalid(api_client):
    response = api_client.post(VERIFY_MFA, {"mfaToken": "nope", "mfaCode": "123456"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "mfa_token_invalid"


def test_wrong_mfa_code_is_401_and_audited():
    admin, secret = _enrolled_admin()
    client = APIClient()
    token = _login(client, admin.email).json()["mfaToken"]
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    response = client.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": wrong}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "mfa_invalid_code"
    assert "access_token" not in response.cookies
    assert AuditLog.objects.filter(action="auth.mfa.failure", actor=admin).exists()
    # The token is still usable with the right code.
    ok = client.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": pyotp.TOTP(secret).now()}, format="json")
    assert ok.status_code == 200


def test_a_totp_code_is_not_accepted_twice():
    admin, secret = _enrolled_admin()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        code = pyotp.TOTP(secret).now()
        first = APIClient()
        token = _login(first, admin.email).json()["mfaToken"]
        assert first.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": code}, format="json").status_code == 200
        second = APIClient()
        token2 = _login(second, admin.email).json()["mfaToken"]
        response = second.post(VERIFY_MFA, {"mfaToken": token2, "mfaCode": code}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "mfa_code_reused"


def test_totp_accepts_one_step_of_drift_but_not_two():
    admin, secret = _enrolled_admin()
    now = time.time()
    client = APIClient()
    token = _login(client, admin.email).json()["mfaToken"]
    stale = pyotp.TOTP(secret).at(now - 65)
    if stale not in (pyotp.TOTP(secret).at(now - 30), pyotp.TOTP(secret).now(), pyotp.TOTP(secret).at(now + 30)):
        response = client.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": stale}, format="json")
        assert response.json()["code"] == "mfa_invalid_code"
    previous = pyotp.TOTP(secret).at(now - 30)
    assert client.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": previous}, format="json").status_code == 200


def test_backup_code_works_once():
    admin = _admin()
    client = APIClient()
    _login(client, admin.email)
    data = client.post(GENERATE, {}, format="json", **_csrf(client)).json()["data"]
    client.post(ENABLE, {"mfaCode": pyotp.TOTP(data["secret"]).now()}, format="json", **_csrf(client))
    backup = data["backupCodes"][0]
    assert not MfaBackupCode.objects.filter(code_hash__contains=backup).exists()
    first = APIClient()
    token = _login(first, admin.email).json()["mfaToken"]
    assert first.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": backup}, format="json").status_code == 200
    second = APIClient()
    token2 = _login(second, admin.email).json()["mfaToken"]
    response = second.post(VERIFY_MFA, {"mfaToken": token2, "mfaCode": backup}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "mfa_code_reused"


def test_five_wrong_passwords_lock_the_account_for_15_minutes(api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin_login_ip": "100/15m"}
    admin = _admin()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        codes = [_login(api_client, admin.email, "wrong-password").json()["code"] for _ in range(5)]
        assert codes == ["invalid_credentials"] * 4 + ["too_many_attempts"]
        locked = _login(api_client, admin.email)  # even the right password
        assert locked.status_code == 429
        assert locked.json()["code"] == "too_many_attempts"
        assert 0 < locked.json()["retryAfter"] <= 900
        assert locked["Retry-After"] == str(locked.json()["retryAfter"])
    assert AuditLog.objects.filter(action="auth.lockout", actor=admin).count() == 1
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert _login(api_client, admin.email).status_code == 200


def test_wrong_mfa_codes_count_towards_the_lockout(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "verify_mfa_ip": "100/15m", "admin_login_ip": "100/15m"}
    admin, secret = _enrolled_admin()
    client = APIClient()
    token = _login(client, admin.email).json()["mfaToken"]
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    codes = [
        client.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": wrong}, format="json").json()["code"] for _ in range(5)
    ]
    assert codes == ["mfa_invalid_code"] * 4 + ["too_many_attempts"]
    right = client.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": pyotp.TOTP(secret).now()}, format="json")
    assert right.status_code == 429
    assert LoginFailure.objects.filter(user=admin, locks_until__isnull=False).count() == 1


def test_restricted_session_is_403_admin_mfa_required_outside_mfa_endpoints(make_auth_client):
    client = make_auth_client(_admin(), mfa_verified=False)
    response = client.patch(ME, {"bio": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "admin_mfa_required"
    assert client.get(STATUS).status_code == 200


def test_mfa_endpoints_refuse_non_admins(auth_client):
    response = auth_client.get(STATUS)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_disable_with_empty_body_is_400_and_keeps_mfa(make_auth_client):
    admin, _ = _enrolled_admin()
    client = make_auth_client(admin, mfa_verified=True)
    response = client.post(DISABLE, {}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert MfaDevice.objects.get(user=admin).is_enabled is True


def test_disable_with_wrong_password_is_refused(make_auth_client):
    admin, _ = _enrolled_admin()
    client = make_auth_client(admin, mfa_verified=True)
    response = client.post(DISABLE, {"password": "nope"}, format="json")
    assert response.status_code == 401
    assert MfaDevice.objects.get(user=admin).is_enabled is True


def test_disable_with_code_ends_other_sessions_and_is_audited(make_auth_client):
    admin, secret = _enrolled_admin()
    client = make_auth_client(admin, mfa_verified=True)
    other = make_auth_client(admin, mfa_verified=True)
    response = client.post(DISABLE, {"mfaCode": pyotp.TOTP(secret).now()}, format="json")
    assert response.status_code == 200
    assert MfaDevice.objects.get(user=admin).is_enabled is False
    assert other.get(ME).json()["code"] == "session_revoked"
    assert client.get(STATUS).json()["data"]["mfaEnabled"] is False
    assert AuditLog.objects.filter(action="auth.mfa.disable", actor=admin).exists()


def test_disable_with_password_works(make_auth_client):
    admin, _ = _enrolled_admin()
    client = make_auth_client(admin, mfa_verified=True)
    assert client.post(DISABLE, {"password": PASSWORD}, format="json").status_code == 200


def test_generate_secret_when_enabled_is_409(make_auth_client):
    admin, _ = _enrolled_admin()
    response = make_auth_client(admin, mfa_verified=True).post(GENERATE, {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "mfa_already_enabled"


def test_each_admin_has_their_own_secret():
    _, first_secret = _enrolled_admin()
    second, second_secret = _enrolled_admin()
    client = APIClient()
    token = _login(client, second.email).json()["mfaToken"]
    first_code = pyotp.TOTP(first_secret).now()
    if first_code != pyotp.TOTP(second_secret).now():
        response = client.post(VERIFY_MFA, {"mfaToken": token, "mfaCode": first_code}, format="json")
        assert response.status_code == 401
        assert response.json()["code"] == "mfa_invalid_code"
