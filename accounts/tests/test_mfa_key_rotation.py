"""MFA secrets at rest: several Fernet keys, newest first, and a command that re-encrypts with the newest."""

import pyotp
import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from accounts.mfa import decrypt_secret, encrypt_secret, legacy_fernet
from accounts.models import AuditLog, MfaDevice
from accounts.tests.factories import AdminFactory, MfaDeviceFactory

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_a_secret_under_an_older_key_still_opens_and_new_ones_use_the_newest(settings):
    settings.MFA_ENCRYPTION_KEYS = [OLD]
    stored = encrypt_secret("JBSWY3DPEHPK3PXP")
    settings.MFA_ENCRYPTION_KEYS = [NEW, OLD]
    assert decrypt_secret(stored) == "JBSWY3DPEHPK3PXP"
    fresh = encrypt_secret("KRSXG5CTMVRXEZLU")
    assert Fernet(NEW).decrypt(fresh.encode()) == b"KRSXG5CTMVRXEZLU"


def test_without_the_key_a_secret_does_not_open(settings):
    settings.MFA_ENCRYPTION_KEYS = [OLD]
    stored = encrypt_secret("JBSWY3DPEHPK3PXP")
    settings.MFA_ENCRYPTION_KEYS = [NEW]
    assert decrypt_secret(stored) is None


def test_rotation_command_reencrypts_every_secret_so_the_old_key_can_go(settings):
    settings.MFA_ENCRYPTION_KEYS = [OLD]
    secret, pending = pyotp.random_base32(), pyotp.random_base32()
    admin = AdminFactory()
    MfaDeviceFactory(user=admin, secret=secret, pending_secret_encrypted=encrypt_secret(pending))
    legacy_admin = AdminFactory()
    MfaDeviceFactory(user=legacy_admin, secret_encrypted=legacy_fernet().encrypt(secret.encode()).decode())

    settings.MFA_ENCRYPTION_KEYS = [NEW, OLD]
    call_command("rotate_mfa_encryption_key")
    call_command("rotate_mfa_encryption_key")  # re-running is harmless

    settings.MFA_ENCRYPTION_KEYS = [NEW]
    device = MfaDevice.objects.get(user=admin)
    assert decrypt_secret(device.secret_encrypted) == secret
    assert decrypt_secret(device.pending_secret_encrypted) == pending
    assert decrypt_secret(MfaDevice.objects.get(user=legacy_admin).secret_encrypted) == secret
    audit = AuditLog.objects.filter(action="auth.mfa.keys_rotated")
    assert audit.count() == 2
    assert audit.first().changes["after"] == {"reencrypted": 2, "unreadable": 0}


def test_a_secret_no_key_opens_is_reported_and_left_as_it_was(settings):
    lost = Fernet(Fernet.generate_key()).encrypt(b"JBSWY3DPEHPK3PXP").decode()
    admin = AdminFactory()
    MfaDeviceFactory(user=admin, secret_encrypted=lost)
    settings.MFA_ENCRYPTION_KEYS = [NEW]

    with pytest.raises(CommandError, match=str(admin.pk)):
        call_command("rotate_mfa_encryption_key")
    assert MfaDevice.objects.get(user=admin).secret_encrypted == lost


def test_no_legacy_refuses_secrets_under_the_secret_key_derivation(settings):
    admin = AdminFactory()
    MfaDeviceFactory(user=admin, secret_encrypted=legacy_fernet().encrypt(b"JBSWY3DPEHPK3PXP").decode())
    with pytest.raises(CommandError):
        call_command("rotate_mfa_encryption_key", "--no-legacy")
