"""Admin sign-in and TOTP MFA (docs/api.md §2 `admin-login`, `verify-mfa`; §7 `/admin/mfa/*`; §11 "Admin MFA").

* Password step: wrong password, unknown email and non-admin look alike (401 `invalid_credentials`).
  Enrolled admins get a single-use 5-minute `mfaToken`; not-enrolled admins get a restricted session
  (MFA step incomplete) that can only enrol.
* Codes: RFC 6238 TOTP (SHA-1, 6 digits, 30 s, ±1 step) from the admin's own secret, stored encrypted
  (MultiFernet over MFA_ENCRYPTION_KEY's keys, newest first; `manage.py rotate_mfa_encryption_key`
  re-encrypts with the newest), or a single-use backup code (SHA-256).
  The last accepted time step is remembered, so a code is never accepted twice (401 `mfa_code_reused`).
* Lockout (`lockout`): 5 failed password or MFA attempts from one client address within 15 minutes lock
  that address out of the account for 15 minutes (429 `too_many_attempts`, audited `auth.lockout`); other
  addresses still sign in. Failures are committed before the error is raised.
"""

from accounts.mfa.at_rest import decrypt_secret, encrypt_secret, legacy_fernet, mfa_secrets_reencrypt
from accounts.mfa.codes import totp_match_step
from accounts.mfa.enrolment import mfa_disable, mfa_enable, mfa_generate_secret, mfa_status
from accounts.mfa.sign_in import AdminLoginResult, admin_login, admin_verify_mfa

__all__ = [
    "AdminLoginResult",
    "admin_login",
    "admin_verify_mfa",
    "decrypt_secret",
    "encrypt_secret",
    "legacy_fernet",
    "mfa_disable",
    "mfa_enable",
    "mfa_generate_secret",
    "mfa_secrets_reencrypt",
    "mfa_status",
    "totp_match_step",
]
