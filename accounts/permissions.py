"""DRF permission classes shared by every app (docs/api.md §1 "Roles and permissions", §7, §8, §11).

Use them on views of other apps:

    from accounts.permissions import HasPermission, IsAdminWithMfa

    class AdminUserViewSet(viewsets.GenericViewSet):
        permission_classes = [IsAdminWithMfa]                 # /admin/*: role admin + MFA done

    class AnalyticsOverview(APIView):
        permission_classes = [HasPermission("view_analytics")]  # named permission (RolePermission table)

Outcomes (the error codes are part of the contract):

* no or bad credentials: 401 (`not_authenticated`, `token_invalid`, `token_expired`, ...) from authentication;
* an admin whose session has not completed MFA (restricted session after a password-only sign-in): 403
  `admin_mfa_required`. `TokenSessionAuthentication` already refuses such sessions everywhere except
  `/admin/mfa/*`, `GET /users/me`, refresh and logout; these classes repeat the check so that they are
  safe on their own;
* everyone else without the role/permission: 403 `permission_denied`.

The role and the grants are re-read on every request (the user row comes from the session check,
the grants from the RolePermission table), not trusted from the token.
"""

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.errors import AdminMfaRequired
from accounts.roles import Role, role_has_permission


def session_mfa_completed(request: Request) -> bool:
    """Whether the request's session has completed its MFA step (False without a session)."""
    session = getattr(request.auth, "session", None)
    return bool(session is not None and session.mfa_completed)


def is_admin_with_mfa(request: Request) -> bool:
    """For views open to owners that also let admins act on anyone's rows (docs/api.md §7: role admin + MFA)."""
    user = getattr(request, "user", None)
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.role == Role.ADMIN
        and session_mfa_completed(request)
    )


def _role(request: Request) -> str:
    # Read only after _require_authenticated: a signed-in user is always an accounts.User, which has a role.
    return str(getattr(request.user, "role", ""))


def _require_authenticated(request: Request) -> bool:
    return bool(request.user and request.user.is_authenticated)


class IsAdminWithMfa(BasePermission):
    """Role `admin` and a session whose MFA step is complete."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not _require_authenticated(request):
            return False  # DRF answers 401 not_authenticated
        if _role(request) != Role.ADMIN:
            return False  # 403 permission_denied
        if not session_mfa_completed(request):
            raise AdminMfaRequired()
        return True


class IsAdmin(BasePermission):
    """Role `admin`, MFA not required: only for the `/admin/mfa/*` enrolment endpoints."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return _require_authenticated(request) and _role(request) == Role.ADMIN


def HasPermission(permission: str) -> type[BasePermission]:
    """A permission class granting access to users whose role holds `permission`.

    `permission_classes = [HasPermission("view_analytics")]`. Admins must also have completed MFA
    (403 `admin_mfa_required`).
    """

    class _HasPermission(BasePermission):
        required_permission = permission

        def has_permission(self, request: Request, view: APIView) -> bool:
            if not _require_authenticated(request):
                return False
            if not role_has_permission(_role(request), permission):
                return False
            if _role(request) == Role.ADMIN and not session_mfa_completed(request):
                raise AdminMfaRequired()
            return True

    _HasPermission.__name__ = f"HasPermission_{permission}"
    _HasPermission.__qualname__ = _HasPermission.__name__
    return _HasPermission
