"""Django admin registrations for accounts (basic; the staff app extends the admin site)."""

from django.contrib import admin

from accounts.models import AuthSession, RolePermission, User
from accounts.roles import clear_role_permission_cache
from manas360.admin_mixins import AuditedModelAdmin, ReadOnlyModelAdmin


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = (
        "email",
        "phone_number",
        "first_name",
        "last_name",
        "role",
        "is_active",
        "is_verified",
        "created_at",
    )
    list_filter = ("role", "is_active", "is_verified", "is_staff")
    search_fields = ("email", "phone_number", "first_name", "last_name")
    ordering = ("-created_at",)
    readonly_fields = ("id", "password", "last_login", "created_at", "updated_at", "deleted_at", "locked_until")
    fields = (
        "id",
        "email",
        "phone_number",
        "first_name",
        "last_name",
        "role",
        "is_active",
        "is_verified",
        "is_staff",
        "is_superuser",
        "bio",
        "timezone",
        "language",
        "profile_picture_url",
        "password",
        "last_login",
        "locked_until",
        "created_at",
        "updated_at",
        "deleted_at",
    )


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
