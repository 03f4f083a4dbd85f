"""Mandates and their renewal history, read-only: state moves only through PhonePe's word (services)."""

from django.contrib import admin

from autopay.models import Mandate, Renewal
from autopay.selectors import renewals_past_deadline
from manas360.admin_mixins import ReadOnlyModelAdmin
from manas360.api.clock import request_now

RENEWAL_COLUMNS = [
    "cycle",
    "attempt",
    "state",
    "amount_paise",
    "period_start",
    "notified_at",
    "debit_after",
    "completed_at",
    "payment",
    "failure_reason",
]


class RenewalInline(admin.TabularInline):
    model = Renewal
    extra = 0
    can_delete = False
    ordering = ["-cycle", "-attempt"]
    fields = RENEWAL_COLUMNS  # type: ignore[assignment]  # django-stubs types fields more narrowly than lists
    readonly_fields = RENEWAL_COLUMNS

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Mandate)
class MandateAdmin(ReadOnlyModelAdmin):
    list_display = [
        "merchant_subscription_id",
        "user",
        "plan",
        "state",
        "amount_paise",
        "frequency",
        "activated_at",
        "cancel_requested_at",
        "ended_at",
    ]
    list_filter = ["state", "plan", "frequency", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["merchant_subscription_id", "gateway_subscription_id", "user__email"]
    list_select_related = ["user", "plan"]
    date_hierarchy = "created_at"
    inlines = [RenewalInline]


class PastDeadlineFilter(admin.SimpleListFilter):
    """Open renewals whose job should have moved them on by now (also /metrics `renewals_past_deadline`)."""

    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("past_deadline", "Past its deadline")]

    def queryset(self, request, queryset):
        if self.value() == "past_deadline":
            return queryset.filter(pk__in=renewals_past_deadline(now=request_now(request)).values("pk"))
        return queryset


@admin.register(Renewal)
class RenewalAdmin(ReadOnlyModelAdmin):
    list_display = ["merchant_order_id", "mandate", "cycle", "attempt", "state", "amount_paise", "completed_at"]
    list_filter = [PastDeadlineFilter, "state", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["merchant_order_id", "mandate__merchant_subscription_id"]
    list_select_related = ["mandate"]
    date_hierarchy = "created_at"
