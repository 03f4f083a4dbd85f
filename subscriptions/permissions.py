"""Who may act on a subscription that is not their own (api.md §7: role admin + MFA done)."""

from accounts.permissions import IsAdminWithMfa, is_admin_with_mfa

__all__ = ["IsAdminWithMfa", "is_admin_with_mfa"]
