import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import MfaDevice
from accounts.tests.factories import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_enrol_then_sign_in_to_the_admin_site(capsys):
    admin = AdminFactory(email="ops@example.com", password="A-long-password-1")

    call_command("staff_enroll_totp", "ops@example.com")
    secret = re.search(r"Secret \(base32\): (\S+)", capsys.readouterr().out).group(1)
    totp = pyotp.TOTP(secret)
    call_command("staff_enroll_totp", "ops@example.com", "--confirm", totp.now())

    assert MfaDevice.objects.get(user=admin).is_enabled is True
    # The enrolment code is spent; the next step's code signs in.
    client = Client()
    next_code = totp.at(datetime.now(tz=UTC) + timedelta(seconds=30))
    response = client.post(
        "/admin/login/",
        {"username": "ops@example.com", "password": "A-long-password-1", "otp_token": next_code, "next": "/admin/"},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_wrong_confirmation_code_is_refused():
    admin = AdminFactory(email="ops2@example.com")
    call_command("staff_enroll_totp", "ops2@example.com")
    with pytest.raises(CommandError):
        call_command("staff_enroll_totp", "ops2@example.com", "--confirm", "000000x")
    assert not MfaDevice.objects.get(user=admin).is_enabled


def test_non_admin_is_refused():
    UserFactory(email="patient-cmd@example.com")
    with pytest.raises(CommandError):
        call_command("staff_enroll_totp", "patient-cmd@example.com")
    assert not MfaDevice.objects.exists()
