"""Staff ModelAdmins on the TOTP-protected site: users (with the API's suspend/reinstate/verify services) and the
read-only audit log.

This is the only admin of User and AuditLog (accounts registers neither). The auth Group admin is removed
(roles are `User.role`).
"""

from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.db.models import Prefetch

from accounts.audit import audit_context_from_request
from accounts.models import AuditLog, User
from manas360.admin_display import short_id_column
from manas360.admin_mixins import ReadOnlyModelAdmin
from manas360.api.clock import request_now
from manas360.api.errors import ApplicationError
from staff import jobs_admin, services  # noqa: F401 - jobs_admin registers the job engine's admin
from subscriptions.models import Subscription

# django.contrib.auth's groups mean nothing here (roles and RolePermission are the one source of truth).
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return (("active", "Active"), ("suspended", "Suspended"), ("deleted", "Deleted"))

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(is_active=True, deleted_at__isnull=True)
        if self.value() == "suspended":
            return queryset.filter(is_active=False, deleted_at__isnull=True)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


def _run_for_each(modeladmin, request, queryset, action, success_message: str, **kwargs) -> None:
    """Call one staff service per selected user; report successes and refusals (e.g. `not_a_therapist`)."""
    done, refused = 0, []
    for user in queryset:
        try:
            action(actor=request.user, user_id=user.pk, **kwargs, **audit_context_from_request(request))
        except ApplicationError as error:
            refused.append(f"{user}: {error.message}")
        else:
            done += 1
    if done:
        modeladmin.message_user(request, success_message.format(count=done), messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, line, messages.WARNING)


@admin.register(User)
class StaffUserAdmin(admin.ModelAdmin):
    list_display = (
        "email",
        "phone_number",
        "full_name",
        "role",
        "is_active",
        "is_verified",
        "is_staff",
        "current_plan",
        "created_at",
    )
    list_display_links = ("email", "phone_number")
    list_filter = ("role", StatusFilter, "is_verified", "is_staff")
    search_fields = ("first_name", "last_name", "email", "phone_number")
    ordering = ("-created_at",)
    list_per_page = 50
    show_full_result_count = False
    actions = ("suspend_users", "reinstate_users", "verify_therapists")
    # Writes go through staff.services (audited); everything else is shown read-only.
    fields = (
        "id",
        "email",
        "phone_number",
        "first_name",
        "last_name",
        "role",
        "is_staff",
        "is_active",
        "is_verified",
        "is_superuser",
        "bio",
        "timezone",
        "language",
        "last_login",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    editable_fields = ("first_name", "last_name", "role", "is_staff")

    def get_readonly_fields(self, request, obj=None):
        return [field for field in self.fields if field not in self.editable_fields]

    def get_queryset(self, request):
        current = Prefetch(
            "subscriptions",
            queryset=Subscription.objects.current(request_now(request)).select_related("plan"),
            to_attr="current_subscriptions",
        )
        return super().get_queryset(request).prefetch_related(current)

    @admin.display(description="Name")
    def full_name(self, user):
        return user.full_name

    @admin.display(description="Plan")
    def current_plan(self, user):
        current = getattr(user, "current_subscriptions", None)
        return current[0].plan.code if current else "-"

    def has_add_permission(self, request):
        return False  # accounts are created by sign-up, the seed or `manage.py createsuperuser`

    def has_delete_permission(self, request, obj=None):
        return False  # deletion is a soft delete with scrubbing: DELETE /api/v1/admin/users/:id

    def save_model(self, request, obj, form, change):
        """Through the audited service instead of `obj.save()`."""
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in self.editable_fields}
        if not changes:
            return
        try:
            services.admin_user_update(
                actor=request.user,
                user_id=obj.pk,
                now=request_now(request),
                **changes,
                **audit_context_from_request(request),
            )
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
        obj.refresh_from_db()

    @admin.action(description="Suspend selected users (ends their sessions at once)")
    def suspend_users(self, request, queryset):
        _run_for_each(
            self, request, queryset, services.admin_user_suspend, "Suspended {count} user(s).", now=request_now(request)
        )

    @admin.action(description="Reinstate selected users")
    def reinstate_users(self, request, queryset):
        _run_for_each(
            self,
            request,
            queryset,
            services.admin_user_reinstate,
            "Reinstated {count} user(s).",
            now=request_now(request),
        )

    @admin.action(description="Verify selected therapists")
    def verify_therapists(self, request, queryset):
        _run_for_each(
            self,
            request,
            queryset,
            services.admin_therapist_verify,
            "Verified {count} therapist(s).",
            verified=True,
            notes="Verified in the Django admin.",
        )


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyModelAdmin):
    """Read-only for everyone, superusers included: the log is append-only (docs/api.md §7)."""

    list_display = ("timestamp", "action", "actor_email", "resource_type", "resource_ref", "ip_address", "request_ref")
    list_filter = ("action", "resource_type")
    search_fields = ("actor_email", "resource_id", "request_id", "action")
    date_hierarchy = "timestamp"
    ordering = ("-timestamp",)
    list_per_page = 100
    show_full_result_count = False
    readonly_fields = [field.name for field in AuditLog._meta.fields]

    resource_ref = short_id_column("resource_id", description="Resource")
    request_ref = short_id_column("request_id", description="Request")
