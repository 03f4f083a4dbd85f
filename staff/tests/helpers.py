"""Test helpers (the real-browser test included): an admin who can sign in to /admin/ with TOTP."""

import secrets

import pyotp
from django.test import Client
from django.utils import timezone

from accounts.mfa import encrypt_secret
from accounts.models import MfaDevice, User
from accounts.roles import Role


def staff_admin_with_totp(*, email: str | None = None, password: str | None = None) -> tuple[User, str, str]:
    """Create an active staff admin with an enrolled TOTP secret; returns (user, password, base32 secret).

    Sign in at /admin/login/ with fields username=<email>, password, otp_token=pyotp.TOTP(secret).now().
    A code is accepted once (replay guard): a second sign-in needs the next 30-second code.
    """
    email = email or f"staff-{secrets.token_hex(4)}@manas360.test"
    password = password or f"Staff-{secrets.token_urlsafe(12)}!"
    user = User.objects.create_user(
        email=email,
        password=password,
        role=Role.ADMIN,
        is_staff=True,
        is_verified=True,
        first_name="Staff",
        last_name="Admin",
    )
    secret = pyotp.random_base32()
    MfaDevice.objects.create(
        user=user, secret_encrypted=encrypt_secret(secret), is_enabled=True, enabled_at=timezone.now()
    )
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
