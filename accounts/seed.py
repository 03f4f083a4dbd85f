"""Accounts seed (`manage.py seed`): role grants always; demo accounts only when DEBUG is on (docs/api.md §11)."""

from typing import Any, TextIO

from django.conf import settings

from accounts.models import MfaDevice, RolePermission, User
from accounts.roles import ROLE_PERMISSIONS, Role, clear_role_permission_cache


def role_permissions_seed() -> int:
    """Grant every permission listed in ROLE_PERMISSIONS (idempotent; never removes extra grants)."""
    existing = set(RolePermission.objects.values_list("role", "permission"))
    missing = [
        RolePermission(role=str(role), permission=str(permission))
        for role, permissions in ROLE_PERMISSIONS.items()
        for permission in permissions
        if (str(role), str(permission)) not in existing
    ]
    RolePermission.objects.bulk_create(missing, ignore_conflicts=True)
    clear_role_permission_cache()
    return len(missing)


DEMO_PATIENT_EMAIL = "patient@manas360.local"
DEMO_PATIENT_PHONE = "+919876543210"
DEMO_ADMIN_EMAIL = "admin@manas360.local"
DEMO_THERAPIST_EMAIL = "therapist@manas360.local"


def _upsert(*, email: str, defaults: dict[str, Any], password: str | None = None) -> tuple[User, bool]:
    user = User.objects.filter(email=email).first()
    if user is None:
        return User.objects.create_user(email=email, password=password, **defaults), True
    changed = [field for field, value in defaults.items() if getattr(user, field) != value]
    for field in changed:
        setattr(user, field, defaults[field])
    if password and not user.check_password(password):
        user.set_password(password)
        changed.append("password")
    if changed:
        user.save(update_fields=changed)
    return user, False


def _mfa_state(admin: User) -> str:
    """What the database says about the admin's MFA (the seed never enrols or resets it)."""
    if MfaDevice.objects.filter(user=admin, is_enabled=True).exists():
        return (
            "MFA enrolled (codes from the authenticator set up at enrolment; `make smoke` keeps its secret in "
            "var/smoke-admin-totp-secret; `manage.py reset_admin_mfa` removes it)"
        )
    return "MFA not enrolled (the first sign-in enrols it)"


def run(*, stdout: TextIO, demo_accounts: bool) -> None:
    added = role_permissions_seed()
    stdout.write(f"accounts: role permissions seeded ({added} new grants).")
    if not demo_accounts:
        return
    admin_password = settings.SEED_ADMIN_PASSWORD
    admin, _ = _upsert(
        email=DEMO_ADMIN_EMAIL,
        password=admin_password,
        defaults={
            "first_name": "Demo",
            "last_name": "Admin",
            "role": Role.ADMIN,
            "is_staff": True,
            "is_superuser": True,
            "is_verified": True,
            "is_active": True,
        },
    )
    if User.objects.filter(phone_number=DEMO_PATIENT_PHONE).exclude(email=DEMO_PATIENT_EMAIL).exists():
        stdout.write(f"accounts: {DEMO_PATIENT_PHONE} belongs to another account; demo patient keeps no phone.")
        patient_phone = None
    else:
        patient_phone = DEMO_PATIENT_PHONE
    _upsert(
        email=DEMO_PATIENT_EMAIL,
        defaults={
            "phone_number": patient_phone,
            "first_name": "Demo",
            "last_name": "Patient",
            "role": Role.PATIENT,
            "is_verified": True,
            "is_active": True,
        },
    )
    _upsert(
        email=DEMO_THERAPIST_EMAIL,
        defaults={
            "first_name": "Demo",
            "last_name": "Therapist",
            "role": Role.THERAPIST,
            "is_verified": True,
            "is_active": True,
        },
    )
    stdout.write("accounts: demo accounts (development only):")
    stdout.write(
        f"  admin      {DEMO_ADMIN_EMAIL}  password: SEED_ADMIN_PASSWORD (default Admin-pass-123!), {_mfa_state(admin)}"
    )
    stdout.write(f"  patient    {DEMO_PATIENT_EMAIL}  phone {DEMO_PATIENT_PHONE}  (sign in by OTP)")
    stdout.write(f"  therapist  {DEMO_THERAPIST_EMAIL}  (sign in by OTP)")
