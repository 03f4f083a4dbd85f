"""Who may act on a subscription or payment that is not their own.

api.md §7: admin endpoints need role `admin` and a session whose MFA step is
complete. accounts.permissions.IsAdminWithMfa is the project-wide check; until
it lands the equivalent check below reads the same token claims.
"""

from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission

from accounts.roles import Role
from manas360.api.errors import ApplicationError, Forbidden

try:  # pragma: no cover - depends on the accounts engineer's work landing
    from accounts.permissions import IsAdminWithMfa as _ProjectIsAdminWithMfa
except ImportError:  # pragma: no cover
    _ProjectIsAdminWithMfa = None


def _token_claim(auth, name: str):
    getter = getattr(auth, "get", None)
    return getter(name) if callable(getter) else getattr(auth, name, None)


def is_admin(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.role == Role.ADMIN)


def is_admin_with_mfa(request) -> bool:
    if not is_admin(request):
        return False
    if _ProjectIsAdminWithMfa is not None:
        try:
            return bool(_ProjectIsAdminWithMfa().has_permission(request, None))
        except (APIException, ApplicationError):  # a denial raised as an exception is still a denial
            return False
    return bool(_token_claim(request.auth, "mfa"))


class _FallbackIsAdminWithMfa(BasePermission):
    def has_permission(self, request, view):
        if not is_admin(request):
            raise Forbidden()
        if not _token_claim(request.auth, "mfa"):
            raise Forbidden("Complete the MFA step to use admin endpoints.", code="admin_mfa_required")
        return True


IsAdminWithMfa = _ProjectIsAdminWithMfa or _FallbackIsAdminWithMfa
