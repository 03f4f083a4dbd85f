"""Django admin registrations for accounts' own tables.

Users have no admin here: their one admin is `staff.admin.StaffUserAdmin`, whose writes (role, suspension,
verification) go through the audited staff services; a second, editable registration would be a door around them.
"""

from django.contrib import admin

from accounts.admin_mixins import AuditedModelAdmin
from accounts.models import AuthSession, OtpDeliveryAttempt, RolePermission
from accounts.roles import clear_role_permission_cache
from manas360.admin_mixins import ReadOnlyModelAdmin


@admin.register(RolePermission)
class RolePermissionAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("role", "permission")
    list_filter = ("role",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        clear_role_permission_cache()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        clear_role_permission_cache()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        clear_role_permission_cache()


@admin.register(AuthSession)
class AuthSessionAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "user", "created_at", "last_used_at", "revoked_at", "revoked_reason", "mfa_completed")
    list_filter = ("mfa_completed",)
    search_fields = ("user__email", "user__phone_number")
    list_select_related = ("user",)
    readonly_fields = [field.name for field in AuthSession._meta.fields]


@admin.register(OtpDeliveryAttempt)
class OtpDeliveryAttemptAdmin(ReadOnlyModelAdmin):
    """Which provider took or refused each code (never the code; the recipient masked): support and outages."""

    list_display = (
        "created_at",
        "purpose",
        "channel",
        "provider",
        "outcome",
        "provider_error_code",
        "recipient_masked",
    )
    list_filter = ("outcome", "channel", "provider", "purpose")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in OtpDeliveryAttempt._meta.fields]
