from django import forms
from django.contrib import admin

from accounts.admin_mixins import AuditedModelAdmin
from manas360.admin_display import rupees_column, short_id_column
from manas360.admin_mixins import ReadOnlyModelAdmin
from manas360.money import RupeesField
from subscriptions.models import Plan, Subscription


class PlanAdminForm(forms.ModelForm):
    """The price is typed and shown in rupees (`299.00`); the form hands the model exact paise."""

    amount_paise = RupeesField(label="Price (₹)")

    class Meta:
        model = Plan
        fields = [
            "code",
            "name",
            "display_name",
            "description",
            "amount_paise",
            "currency",
            "period",
            "duration_days",
            "type",
            "features",
            "is_active",
            "is_featured",
            "display_order",
        ]


@admin.register(Plan)
class PlanAdmin(AuditedModelAdmin, admin.ModelAdmin):
    form = PlanAdminForm
    list_display = ["code", "is_active", "price", "period", "duration_days", "name", "is_featured"]
    list_filter = ["is_active", "is_featured", "period", "type"]
    search_fields = ["code", "name", "display_name"]
    readonly_fields = ["uuid", "created_at", "updated_at"]
    ordering = ["display_order", "amount_paise"]

    price = rupees_column("amount_paise", description="Price")


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyModelAdmin):
    """Read-only: subscriptions change through payments and the cancel service, which audit every move."""

    list_display = ["status", "user", "plan", "start_date", "end_date", "auto_renew", "cancelled_at", "short_id"]
    list_display_links = ["status", "short_id"]
    list_filter = ["status", "plan", "auto_renew"]
    search_fields = ["id", "user__email", "user__phone_number"]
    list_select_related = ["user", "plan"]
    date_hierarchy = "created_at"

    short_id = short_id_column("pk")
