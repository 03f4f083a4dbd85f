from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.admin_mixins import AuditedModelAdmin
from manas360.admin_display import rupees_column, short_id_column
from manas360.admin_mixins import ReadOnlyModelAdmin
from manas360.money import RupeesField, format_rupees
from payments.models import Payment
from subscriptions.fulfilment import PLAN_PRODUCT
from subscriptions.models import Grant, Plan, Subscription


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

    # Payments refer to a plan by its code alone (no foreign key, payments/fulfilment.py): once a plan exists its
    # code never changes, and a plan any payment refers to is withdrawn (`is_active`), never deleted.
    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "code"] if obj is not None else self.readonly_fields

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        sold = Payment.objects.filter(product=PLAN_PRODUCT, product_ref__in=[plan.code for plan in objs])
        protected = [*protected, *(f"Payment {code}" for code in sold.values_list("merchant_order_id", flat=True)[:20])]
        return deleted, counts, perms_needed, protected


@admin.display(description="Period")
def _period(grant: Grant) -> str:
    if grant.starts_at is None:
        return "waits behind a lifetime plan" if grant.state == "queued" else "never started"
    start = f"{grant.starts_at:%Y-%m-%d %H:%M}"
    return f"{start} → {grant.ends_at:%Y-%m-%d %H:%M}" if grant.ends_at else f"{start} → lifetime"


@admin.display(description="Paid by")
def _payment_link(grant: Grant):
    if grant.payment is None:
        return "free plan (no payment)" if grant.note != "adopted from a subscription without grants" else "-"
    url = reverse("admin:payments_payment_change", args=[grant.payment.pk])
    return format_html('<a href="{}">{}</a> ({})', url, grant.payment.merchant_order_id, grant.payment.status)


@admin.display(description="Refunds of that payment")
def _refunds(grant: Grant):
    refunds = list(grant.payment.refunds.all()) if grant.payment is not None else []
    if not refunds:
        return "-"
    return format_html_join(
        ", ",
        "{} {} {}{}",
        (
            (
                refund.merchant_refund_id,
                format_rupees(refund.amount_paise),
                refund.status,
                " (automatic)" if refund.automatic else "",
            )
            for refund in refunds
        ),
    )


class GrantTimelineInline(admin.TabularInline):
    """What each payment bought, in the order it is (or was) used."""

    model = Grant
    fk_name = "subscription"
    extra = 0
    can_delete = False
    ordering = ["starts_at", "created_at"]
    fields = ("plan", "period", "state", "paying_payment", "refunds", "note")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("plan", "payment").prefetch_related("payment__refunds")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    period = staticmethod(_period)
    paying_payment = staticmethod(_payment_link)
    refunds = staticmethod(_refunds)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyModelAdmin):
    """Read-only: subscriptions are derived from the grants (payments, the cancel service), which audit every move."""

    list_display = [
        "status",
        "user",
        "plan",
        "start_date",
        "end_date",
        "auto_renew",
        "cancelled_at",
        "short_id",
        "timeline",
    ]
    list_display_links = ["status", "short_id"]
    list_filter = ["status", "plan", "auto_renew"]
    search_fields = ["id", "user__email", "user__phone_number"]
    list_select_related = ["user", "plan"]
    date_hierarchy = "created_at"

    short_id = short_id_column("pk")

    inlines = [GrantTimelineInline]

    @admin.display(description="Grants")
    def timeline(self, subscription):
        url = reverse("admin:subscriptions_grant_changelist") + f"?user__id__exact={subscription.user_id}"
        return format_html('<a href="{}">timeline</a>', url)


@admin.register(Grant)
class GrantAdmin(ReadOnlyModelAdmin):
    """A user's grants as a timeline (filter by user: the "timeline" link on a subscription): the plan, its period,
    the payment that paid for it, its state and that payment's refunds. Read-only: grants change only through
    payments, refunds and the cancel service."""

    list_display = ["user", "plan", "period", "state", "paying_payment", "refunds", "note"]
    list_filter = ["state", "plan"]
    search_fields = ["user__email", "user__phone_number", "payment__merchant_order_id"]
    list_select_related = ["user", "plan", "payment"]
    ordering = ["user", "starts_at", "created_at"]  # a grant waiting behind a lifetime one (no start) last

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("payment__refunds")

    period = staticmethod(_period)
    paying_payment = staticmethod(_payment_link)
    refunds = staticmethod(_refunds)
