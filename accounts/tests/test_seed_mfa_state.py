"""The demo seed tells the truth about the demo admin's MFA, read from the database (it printed "MFA not
enrolled" whatever the state)."""

import io

import pyotp
import pytest

from accounts import seed
from accounts.mfa import encrypt_secret
from accounts.models import MfaDevice, User

pytestmark = pytest.mark.django_db


def _admin_line() -> str:
    out = io.StringIO()
    seed.run(stdout=out, demo_accounts=True)
    (line,) = [line for line in out.getvalue().splitlines() if seed.DEMO_ADMIN_EMAIL in line]
    return line


def test_a_fresh_demo_admin_is_reported_not_enrolled():
    line = _admin_line()
    assert "MFA not enrolled" in line
    assert not MfaDevice.objects.exists()


def test_an_enrolled_demo_admin_is_reported_enrolled_and_stays_enrolled():
    _admin_line()
    admin = User.objects.get(email=seed.DEMO_ADMIN_EMAIL)
    MfaDevice.objects.create(user=admin, secret_encrypted=encrypt_secret(pyotp.random_base32()), is_enabled=True)

    line = _admin_line()

    assert "MFA enrolled" in line
    assert "not enrolled" not in line
    assert MfaDevice.objects.filter(user=admin, is_enabled=True).count() == 1  # the seed changed nothing


def test_a_generated_but_unconfirmed_secret_is_not_enrolled():
    _admin_line()
    admin = User.objects.get(email=seed.DEMO_ADMIN_EMAIL)
    MfaDevice.objects.create(user=admin, secret_encrypted=encrypt_secret(pyotp.random_base32()), is_enabled=False)
    assert "MFA not enrolled" in _admin_line()
