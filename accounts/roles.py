"""Roles and named permissions: the one source of truth (docs/api.md §1).

A user's role is the `User.role` column; what a role may do is the
`RolePermission` table, seeded from ROLE_PERMISSIONS by a data migration and
editable by staff in the Django admin.
"""

import time
from collections.abc import Sequence

from django.apps import apps
from django.db import models


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    THERAPIST = "therapist", "Therapist"
    ADMIN = "admin", "Admin"
    CORPORATE = "corporate", "Corporate"
    EDUCATION = "education", "Education"
    HEALTHCARE = "healthcare", "Healthcare"
    INSURANCE = "insurance", "Insurance"
    GOVERNMENT = "government", "Government"


class Permission(models.TextChoices):
    VIEW_ANALYTICS = "view_analytics", "View analytics"
    MANAGE_USERS = "manage_users", "Manage users"
    MANAGE_SUBSCRIPTIONS = "manage_subscriptions", "Manage subscriptions"
    MANAGE_PAYMENTS = "manage_payments", "Manage payments"
    VIEW_AUDIT_LOGS = "view_audit_logs", "View audit logs"
    MANAGE_THEMES = "manage_themes", "Manage themes"
    USE_THEMED_ROOMS = "use_themed_rooms", "Use themed rooms"
    VIEW_OWN_PROFILE = "view_own_profile", "View own profile"
    VIEW_PATIENTS = "view_patients", "View assigned patients"
    VIEW_ORGANISATION_REPORTS = "view_organisation_reports", "View organisation reports"


_MEMBER = [Permission.VIEW_OWN_PROFILE, Permission.USE_THEMED_ROOMS]
_ORGANISATION = [*_MEMBER, Permission.VIEW_ORGANISATION_REPORTS]

# Seed grants. Runtime checks read the RolePermission table, not this dict.
ROLE_PERMISSIONS: dict[str, Sequence[str]] = {
    Role.PATIENT: _MEMBER,
    Role.THERAPIST: [*_MEMBER, Permission.VIEW_PATIENTS],
    Role.ADMIN: [permission.value for permission in Permission],
    Role.CORPORATE: _ORGANISATION,
    Role.EDUCATION: _ORGANISATION,
    Role.HEALTHCARE: _ORGANISATION,
    Role.INSURANCE: _ORGANISATION,
    Role.GOVERNMENT: _ORGANISATION,
}


# Runtime lookups read the RolePermission table. The grants change rarely (staff
# edit them in the Django admin), so each process keeps them for a short time;
# the Django admin clears this process's copy on save, other processes pick the
# change up within ROLE_PERMISSION_CACHE_SECONDS.
ROLE_PERMISSION_CACHE_SECONDS = 30
_role_permission_cache: dict[str, tuple[float, tuple[str, ...]]] = {}


def permissions_for_role(role: str) -> list[str]:
    """The permission names granted to `role`, from the RolePermission table."""
    now = time.monotonic()
    cached = _role_permission_cache.get(role)
    if cached is not None and now - cached[0] < ROLE_PERMISSION_CACHE_SECONDS:
        return list(cached[1])
    # Looked up through the app registry: accounts.models imports this module (Role), so importing the model
    # here would be a cycle.
    RolePermission = apps.get_model("accounts", "RolePermission")
    names = tuple(sorted(RolePermission.objects.filter(role=role).values_list("permission", flat=True)))
    _role_permission_cache[role] = (now, names)
    return list(names)


def role_has_permission(role: str, permission: str) -> bool:
    return permission in permissions_for_role(role)


def clear_role_permission_cache() -> None:
    _role_permission_cache.clear()
