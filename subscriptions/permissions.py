"""Who may act on a subscription or payment that is not their own (docs/api.md §7: role admin + MFA done)."""

from accounts.permissions import IsAdminWithMfa, session_mfa_completed
from accounts.roles import Role

__all__ = ["IsAdminWithMfa", "is_admin_with_mfa"]


def is_admin_with_mfa(request) -> bool:
    """For views open to owners that also let admins act on anyone's rows."""
    user = getattr(request, "user", None)
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.role == Role.ADMIN
        and session_mfa_completed(request)
    )
