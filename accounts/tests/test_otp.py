"""OTP sign-in (docs/api.md §2 send-otp / verify-otp, §11 "OTP")."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts import otp_delivery
from accounts.models import AuthSession, OtpChallenge, User
from accounts.roles import Role
from accounts.tests.factories import AdminFactory, UserFactory
from accounts.tests.helpers import SEND, VERIFY, last_code, wrong_code

pytestmark = pytest.mark.django_db

PHONE = "+919812345678"


def send(client, **body):
    return client.post(SEND, body, format="json")


def verify(client, **body):
    return client.post(VERIFY, body, format="json")


# --- send-otp -----------------------------------------------------------------------------------------


def test_send_otp_answers_contract_shape_and_delivers_a_six_digit_code(api_client):
    response = send(api_client, phoneNumber="98123 45678")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert data["expiresIn"] == 300
    assert data["resendIn"] == 60
    assert data["channel"] == "whatsapp"  # the first of OTP_PHONE_CHANNELS
    assert OtpChallenge.objects.filter(pk=data["otpId"], identifier=PHONE).exists()
    assert "devOtp" not in data
    message = otp_delivery.outbox[-1]
    assert message.identifier == PHONE
    assert message.code.isdigit()
    assert len(message.code) == 6


def test_code_is_stored_hashed_not_in_plain_text(api_client):
    send(api_client, phoneNumber=PHONE)
    challenge = OtpChallenge.objects.get(identifier=PHONE)
    assert last_code() not in challenge.code_hash
    assert len(challenge.code_hash) == 64


@pytest.mark.parametrize(
    "body",
    [{"phone": "09812345678"}, {"email": "+91 98123-45678"}, {"email": "9812345678"}, {"phoneNumber": "919812345678"}],
)
def test_phone_formats_and_aliases_normalise_to_e164(api_client, body):
    assert send(api_client, **body).status_code == 200
    assert otp_delivery.outbox[-1].identifier == PHONE


def test_email_identifier_is_lower_cased_and_sent_by_email(api_client):
    response = send(api_client, email="Asha@Example.COM")
    assert response.status_code == 200
    assert response.json()["data"]["channel"] == "email"
    assert otp_delivery.outbox[-1].identifier == "asha@example.com"


@pytest.mark.parametrize("body", [{}, {"email": "not-an-email"}, {"phoneNumber": "12"}, {"phone": 12345}])
def test_malformed_identifier_is_400_validation_error_and_sends_nothing(api_client, body):
    response = send(api_client, **body)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert otp_delivery.outbox == []
    assert not OtpChallenge.objects.exists()


def test_unknown_and_known_identifiers_answer_alike(api_client):
    UserFactory(phone_number="+919800000001")
    known = send(api_client, phoneNumber="+919800000001").json()
    unknown = send(api_client, phoneNumber="+919800000002").json()
    assert known.keys() == unknown.keys()
    assert known["data"].keys() == unknown["data"].keys()


def test_resend_within_60_seconds_is_429_with_retry_after(api_client):
    assert send(api_client, phoneNumber=PHONE).status_code == 200
    response = send(api_client, phoneNumber=PHONE)
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "otp_resend_too_soon"
    assert 1 <= body["retryAfter"] <= 60
    assert response["Retry-After"] == str(body["retryAfter"])
    assert OtpChallenge.objects.filter(identifier=PHONE).count() == 1


def test_hourly_cap_per_identifier(api_client, settings):
    settings.OTP_HOURLY_LIMIT = 3
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "send_otp_identifier": "100/15m"}
    start = timezone.now()
    for minute in range(3):
        with time_machine.travel(start + timedelta(minutes=2 * minute), tick=False):
            assert send(api_client, phoneNumber=PHONE).status_code == 200
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        response = send(api_client, phoneNumber=PHONE)
    assert response.status_code == 429
    assert response.json()["code"] == "otp_hourly_limit"
    assert response.json()["retryAfter"] > 0
    assert OtpChallenge.objects.filter(identifier=PHONE).count() == 3


def test_console_channel_never_prints_the_code_in_production(api_client, settings, capsys):
    settings.DEBUG = False
    settings.OTP_DELIVERY_CHANNEL = "accounts.otp_delivery.ConsoleChannel"
    send(api_client, phoneNumber=PHONE)
    challenge = OtpChallenge.objects.get(identifier=PHONE)
    assert challenge is not None
    assert "OTP for" not in capsys.readouterr().out


def test_console_channel_prints_the_code_in_development(api_client, settings, capsys):
    settings.DEBUG = True
    settings.OTP_DELIVERY_CHANNEL = "accounts.otp_delivery.ConsoleChannel"
    send(api_client, phoneNumber=PHONE)
    assert f"OTP for {PHONE}:" in capsys.readouterr().out


# --- verify-otp ---------------------------------------------------------------------------------------


def test_first_verify_signs_up_a_patient_with_the_contract_shape(api_client):
    send(api_client, phoneNumber=PHONE)
    response = verify(api_client, phoneNumber=PHONE, otp=last_code())
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["message"]
    assert body["data"]["isNewUser"] is True
    user = body["user"]
    assert user == body["data"]["user"]
    for key in ("id", "email", "phoneNumber", "firstName", "lastName", "fullName", "role", "permissions"):
        assert key in user
    assert user["email"] is None
    assert user["phoneNumber"] == PHONE
    assert user["role"] == "patient"
    assert "use_themed_rooms" in user["permissions"]
    assert user["adminMetadata"] == {"permissions": user["permissions"]}
    tokens = body["data"]["tokens"]
    assert tokens["accessToken"]
    assert tokens["refreshToken"]
    assert tokens["expiresIn"] == 900
    assert body["csrfToken"] == response.cookies["csrf_token"].value
    created = User.objects.get(phone_number=PHONE)
    assert created.role == Role.PATIENT
    assert created.email is None
    assert AuthSession.objects.filter(user=created).count() == 1


def test_existing_user_signs_in_with_is_new_user_false(api_client):
    existing = UserFactory(phone_number=PHONE)
    send(api_client, phoneNumber=PHONE)
    response = verify(api_client, phone=PHONE, otp=last_code())
    assert response.status_code == 200
    assert response.json()["data"]["isNewUser"] is False
    assert response.json()["user"]["id"] == str(existing.pk)
    assert User.objects.count() == 1


def test_login_alias_verifies_too(api_client):
    send(api_client, email="asha@example.com")
    response = api_client.post("/api/v1/auth/login", {"email": "asha@example.com", "otp": last_code()}, format="json")
    assert response.status_code == 200
    assert response.json()["user"]["email"] == "asha@example.com"
    assert response.json()["user"]["phoneNumber"] is None


def test_wrong_code_is_400_otp_invalid_with_attempts_left(api_client):
    send(api_client, phoneNumber=PHONE)
    response = verify(api_client, phoneNumber=PHONE, otp=wrong_code(last_code()))
    assert response.status_code == 400
    assert response.json()["code"] == "otp_invalid"
    assert response.json()["attemptsLeft"] == 4
    assert not User.objects.filter(phone_number=PHONE).exists()


def test_five_wrong_codes_kill_the_code(api_client):
    send(api_client, phoneNumber=PHONE)
    code = last_code()
    attempts_left = []
    for _ in range(4):
        response = verify(api_client, phoneNumber=PHONE, otp=wrong_code(code))
        assert response.status_code == 400
        attempts_left.append(response.json()["attemptsLeft"])
    assert attempts_left == [4, 3, 2, 1]
    fifth = verify(api_client, phoneNumber=PHONE, otp=wrong_code(code))
    assert fifth.status_code == 429
    assert fifth.json()["code"] == "otp_attempts_exceeded"
    # The right code no longer works either.
    after = verify(api_client, phoneNumber=PHONE, otp=code)
    assert after.status_code == 429
    assert after.json()["code"] == "otp_attempts_exceeded"
    assert not User.objects.filter(phone_number=PHONE).exists()


def test_a_new_send_invalidates_the_old_code(api_client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        send(api_client, phoneNumber=PHONE)
    old = last_code()
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert send(api_client, phoneNumber=PHONE).status_code == 200
        new = last_code()
        if old != new:
            response = verify(api_client, phoneNumber=PHONE, otp=old)
            assert response.status_code == 400
            assert response.json()["code"] == "otp_invalid"
        assert verify(api_client, phoneNumber=PHONE, otp=new).status_code == 200


def test_code_is_useless_after_five_minutes(api_client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        send(api_client, phoneNumber=PHONE)
    with time_machine.travel(start + timedelta(seconds=301), tick=False):
        response = verify(api_client, phoneNumber=PHONE, otp=last_code())
    assert response.status_code == 400
    assert response.json()["code"] == "otp_expired"
    assert not User.objects.filter(phone_number=PHONE).exists()


def test_code_still_works_just_before_expiry(api_client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        send(api_client, phoneNumber=PHONE)
    with time_machine.travel(start + timedelta(seconds=299), tick=False):
        assert verify(api_client, phoneNumber=PHONE, otp=last_code()).status_code == 200


def test_a_consumed_code_cannot_be_reused(api_client):
    send(api_client, phoneNumber=PHONE)
    code = last_code()
    assert verify(api_client, phoneNumber=PHONE, otp=code).status_code == 200
    again = verify(api_client, phoneNumber=PHONE, otp=code)
    assert again.status_code == 400
    assert again.json()["code"] == "otp_invalid"


def test_verify_without_any_code_sent_is_otp_invalid(api_client):
    response = verify(api_client, phoneNumber=PHONE, otp="123456")
    assert response.status_code == 400
    assert response.json()["code"] == "otp_invalid"


@pytest.mark.parametrize("bad", ["12345", "abcdef", None, 123456])
def test_malformed_otp_is_validation_error_and_costs_no_attempt(api_client, bad):
    send(api_client, phoneNumber=PHONE)
    response = verify(api_client, phoneNumber=PHONE, otp=bad)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert OtpChallenge.objects.get(identifier=PHONE).attempts == 0


def test_admin_cannot_sign_in_by_otp(api_client):
    AdminFactory(phone_number=PHONE)
    send(api_client, phoneNumber=PHONE)
    response = verify(api_client, phoneNumber=PHONE, otp=last_code())
    assert response.status_code == 403
    assert response.json()["code"] == "admin_must_use_admin_login"
    assert "access_token" not in response.cookies
    assert not AuthSession.objects.exists()


def test_suspended_user_cannot_sign_in(api_client):
    UserFactory(phone_number=PHONE, is_active=False)
    send(api_client, phoneNumber=PHONE)
    response = verify(api_client, phoneNumber=PHONE, otp=last_code())
    assert response.status_code == 403
    assert response.json()["code"] == "account_suspended"
    assert not AuthSession.objects.exists()


def test_production_rejects_the_fixed_code_even_when_configured(api_client, settings):
    settings.DEBUG = False
    settings.OTP_DEV_FIXED_CODE = "123456"
    response = send(api_client, phoneNumber=PHONE)
    assert "devOtp" not in response.json()["data"]
    real = last_code()
    assert real != "123456" or pytest.fail("random code collided with the fixed code (1 in a million)")
    rejected = verify(api_client, phoneNumber=PHONE, otp="123456")
    assert rejected.status_code == 400
    assert rejected.json()["code"] == "otp_invalid"
    assert not User.objects.filter(phone_number=PHONE).exists()


def test_development_fixed_code_needs_debug_and_the_setting(api_client, settings):
    settings.DEBUG = True
    settings.OTP_DEV_FIXED_CODE = "123456"
    response = send(api_client, phoneNumber=PHONE)
    assert response.json()["data"]["devOtp"] == "123456"
    assert verify(api_client, phoneNumber=PHONE, otp="123456").status_code == 200


def test_debug_without_fixed_code_uses_random_codes(api_client, settings):
    settings.DEBUG = True
    settings.OTP_DEV_FIXED_CODE = ""
    response = send(api_client, phoneNumber=PHONE)
    assert "devOtp" not in response.json()["data"]
