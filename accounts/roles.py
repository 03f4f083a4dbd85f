"""Roles and named permissions: the one source of truth (api.md §1).

A user's role is the `User.role` column; what a role may do is the
`RolePermission` table, seeded from ROLE_PERMISSIONS by a data migration and
editable by staff in the Django admin.
"""

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
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.PATIENT: _MEMBER,
    Role.THERAPIST: [*_MEMBER, Permission.VIEW_PATIENTS],
    Role.ADMIN: [permission.value for permission in Permission],
    Role.CORPORATE: _ORGANISATION,
    Role.EDUCATION: _ORGANISATION,
    Role.HEALTHCARE: _ORGANISATION,
    Role.INSURANCE: _ORGANISATION,
    Role.GOVERNMENT: _ORGANISATION,
}
