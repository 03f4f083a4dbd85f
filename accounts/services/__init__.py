"""Writes on accounts, one module per responsibility.

* `profile`: profile updates and soft deletion (`PATCH`/`DELETE /users/...`).
* `email_change`: a self-service email change confirmed by a code sent to the new address.
* `staff_credentials`: admin password change and MFA reset (audited, other sessions ended).

Sign-in lives beside them: `accounts.otp` (codes), `accounts.sessions` (sessions and refresh tokens),
`accounts.mfa` (admin sign-in and MFA).
"""

from accounts.services.profile import ProfileUpdate, user_soft_delete, user_update

__all__ = ["ProfileUpdate", "user_soft_delete", "user_update"]
