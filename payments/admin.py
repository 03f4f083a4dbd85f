"""Money rows are read-only in the Django admin (docs/contributing.md); refunds use the same service as the API."""

from django.contrib import admin, messages

from accounts.audit import audit_context_from_request
from manas360.admin_mixins import ReadOnlyModelAdmin
from manas360.api.errors import ApplicationError
from payments.models import Payment, Refund, WebhookEvent
from payments.services import payment_refund


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ["merchant_refund_id", "status", "amount_paise", "requested_by", "created_at", "completed_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyModelAdmin):
    list_display = [
        "merchant_order_id",
        "user",
        "plan",
        "amount_paise",
        "currency",
        "status",
        "created_at",
        "completed_at",
    ]
    list_filter = ["status", "plan", "currency", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["merchant_order_id", "gateway_order_id", "id", "user__email"]
    list_select_related = ["user", "plan"]
    date_hierarchy = "created_at"
    inlines = [RefundInline]
    actions = ["refund_selected"]

    @admin.action(description="Refund the selected successful payments through PhonePe")
    def refund_selected(self, request, queryset):
        for payment in queryset:
            try:
                refund = payment_refund(
                    payment_id=payment.pk,
                    actor=request.user,
                    reason="Refunded from the Django admin",
                    **audit_context_from_request(request),
                )
            except ApplicationError as exc:
                self.message_user(request, f"{payment.merchant_order_id}: {exc.message}", level=messages.ERROR)
                continue
            self.message_user(request, f"{payment.merchant_order_id}: refund {refund.status}.", level=messages.SUCCESS)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not (request.user.is_active and getattr(request.user, "role", None) == "admin"):
            actions.pop("refund_selected", None)
        return actions


@admin.register(Refund)
class RefundAdmin(ReadOnlyModelAdmin):
    list_display = ["merchant_refund_id", "payment", "amount_paise", "status", "requested_by", "created_at"]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["merchant_refund_id", "payment__merchant_order_id"]
    list_select_related = ["payment", "requested_by"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyModelAdmin):
    list_display = ["received_at", "event", "merchant_order_id", "merchant_refund_id", "state", "outcome"]
    list_filter = ["outcome", "event", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["merchant_order_id", "merchant_refund_id", "event_key"]
    date_hierarchy = "received_at"
