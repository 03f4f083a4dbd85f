from django.contrib import admin

from accounts.admin_mixins import AuditedModelAdmin
from manas360.admin_mixins import ReadOnlyModelAdmin
from subscriptions.models import Plan, Subscription


@admin.register(Plan)
class PlanAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ["code", "name", "amount_paise", "currency", "period", "duration_days", "is_active", "is_featured"]
    list_filter = ["is_active", "is_featured", "period", "type"]
    search_fields = ["code", "name", "display_name"]
    readonly_fields = ["uuid", "created_at", "updated_at"]
    ordering = ["display_order", "amount_paise"]


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyModelAdmin):
    """Read-only: subscriptions change through payments and the cancel service, which audit every move."""

    list_display = ["id", "user", "plan", "status", "start_date", "end_date", "auto_renew", "cancelled_at"]
    list_filter = ["status", "plan", "auto_renew"]
    search_fields = ["id", "user__email", "user__phone_number"]
    list_select_related = ["user", "plan"]
    date_hierarchy = "created_at"
