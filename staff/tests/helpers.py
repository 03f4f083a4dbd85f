"""Test helpers (the real-browser test included): an admin who can sign in to /admin/ with TOTP."""

import secrets

import pyotp
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import AdminFactory, MfaDeviceFactory


def staff_admin_with_totp(*, email: str | None = None, password: str | None = None) -> tuple[User, str, str]:
    """Create an active staff admin with an enrolled TOTP secret; returns (user, password, base32 secret).

    Sign in at /admin/login/ with fields username=<email>, password, otp_token=pyotp.TOTP(secret).now().
    A code is accepted once (replay guard): a second sign-in needs the next 30-second code.
    """
    email = email or f"staff-{secrets.token_hex(4)}@manas360.test"
    password = password or f"Staff-{secrets.token_urlsafe(12)}!"
    user = AdminFactory(email=email, password=password)
    secret = pyotp.random_base32()
    MfaDeviceFactory(user=user, secret=secret, enabled_at=timezone.now())
    return user, password, secret


def staff_admin_client():
    """A django.test.Client signed in to /admin/ as a new staff admin (`client.user` is that admin)."""
    user, password, secret = staff_admin_with_totp()
    client = Client()
    response = client.post(
        "/admin/login/",
        {"username": user.email, "password": password, "otp_token": pyotp.TOTP(secret).now(), "next": "/admin/"},
    )
    assert response.status_code == 302, response.content
    client.user = user
    return client
