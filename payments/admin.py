"""Money rows are read-only in the Django admin (docs/contributing.md); refunds go through the same service as the API.

Lists lead with what staff scan for (status, user, amount in rupees, date) and shorten the long ids; search
still finds a row by its full id. A refund is never sent on one click: the action opens a confirmation page
(who, which plan, how much, what access the refund takes back, a required reason) and only its confirmed
POST calls the refund service.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from accounts.audit import audit_context_from_request
from manas360.admin_display import rupees_column, short_id, short_id_column
from manas360.admin_mixins import ReadOnlyModelAdmin
from manas360.api.clock import request_now
from manas360.api.errors import ApplicationError
from manas360.money import format_rupees
from payments.audit import AUDIT_COUNTS, finding_acknowledge
from payments.models import (
    Payment,
    PaymentStatus,
    ReconciliationAudit,
    ReconciliationFinding,
    Refund,
    WebhookEvent,
)
from payments.refund_preview import refund_access_taken_back
from payments.selectors import payments_pending_past_expiry
from payments.services import payment_refund


class PendingPastExpiryFilter(admin.SimpleListFilter):
    """Payments the reconciliation job should have settled by now (also /metrics `payments_pending_past_expiry`)."""

    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("pending_past_expiry", "Pending past the order's expiry")]

    def queryset(self, request, queryset):
        if self.value() == "pending_past_expiry":
            return queryset.filter(pk__in=payments_pending_past_expiry(now=request_now(request)).values("pk"))
        return queryset


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ["merchant_refund_id", "status", "amount", "reason", "requested_by", "created_at", "completed_at"]
    readonly_fields = ["merchant_refund_id", "status", "amount", "reason", "requested_by", "created_at", "completed_at"]

    amount = rupees_column("amount_paise")

    def has_add_permission(self, request, obj=None):
        return False


class RefundConfirmationForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded on the refund and in the audit log.",
    )


@admin.register(Payment)
class PaymentAdmin(ReadOnlyModelAdmin):
    list_display = ["status", "user", "amount", "created_at", "bought", "order", "completed_at"]
    list_display_links = ["status", "order"]
    list_filter = [
        PendingPastExpiryFilter,
        "status",
        "product_ref",
        "currency",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["merchant_order_id", "gateway_order_id", "id", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    readonly_fields = ["amount"]
    exclude = ["amount_paise"]  # shown in rupees by `amount`
    inlines = [RefundInline]
    actions = ["refund_selected"]

    amount = rupees_column("amount_paise")
    order = short_id_column("merchant_order_id", description="Order")

    @admin.display(description="Bought", ordering="product_ref")
    def bought(self, payment: Payment) -> str:
        # The product's own reference (a plan's code); naming it would cost a query a row.
        return payment.product_ref

    @admin.action(description="Refund the selected successful payments through PhonePe…")
    def refund_selected(self, request, queryset):
        """First POST (from the list): the confirmation page. Second POST (`confirm`): the refunds."""
        form = RefundConfirmationForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            self._refund(request, queryset, reason=form.cleaned_data["reason"])
            return None  # back to the list, with one message per payment
        payments = list(queryset.select_related("user"))
        now = request_now(request)
        rows = [
            {
                "payment": payment,
                "amount": format_rupees(payment.amount_paise),
                "refundable": payment.status == PaymentStatus.SUCCESS,
                "access": refund_access_taken_back(payment, now=now),
            }
            for payment in payments
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Confirm refund",
            "opts": self.model._meta,
            "rows": rows,
            "refundable_count": sum(row["refundable"] for row in rows),
            "total": format_rupees(sum(row["payment"].amount_paise for row in rows if row["refundable"])),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": [str(payment.pk) for payment in payments],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/payments/payment/refund_confirmation.html", context)

    def _refund(self, request, queryset, *, reason: str) -> None:
        now = request_now(request)
        for payment in queryset:
            try:
                refund = payment_refund(
                    payment_id=payment.pk,
                    actor=request.user,
                    now=now,
                    reason=reason,
                    **audit_context_from_request(request),
                )
            except ApplicationError as exc:
                self.message_user(request, f"{payment.merchant_order_id}: {exc.message}", level=messages.ERROR)
                continue
            self.message_user(
                request,
                f"{payment.merchant_order_id}: refund of {format_rupees(refund.amount_paise)} {refund.status}.",
                level=messages.SUCCESS,
            )

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not (request.user.is_active and getattr(request.user, "role", None) == "admin"):
            actions.pop("refund_selected", None)
        return actions


@admin.register(Refund)
class RefundAdmin(ReadOnlyModelAdmin):
    list_display = ["status", "user", "amount", "created_at", "refund", "payment_order", "requested_by", "completed_at"]
    list_display_links = ["status", "refund"]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["merchant_refund_id", "payment__merchant_order_id"]
    list_select_related = ["payment__user", "requested_by"]
    readonly_fields = ["amount"]
    exclude = ["amount_paise"]  # shown in rupees by `amount`

    amount = rupees_column("amount_paise")
    refund = short_id_column("merchant_refund_id", description="Refund")

    @admin.display(description="User", ordering="payment__user__email")
    def user(self, refund):
        return refund.payment.user or "(deleted account)"

    @admin.display(description="Payment", ordering="payment__merchant_order_id")
    def payment_order(self, refund):
        return short_id(refund.payment.merchant_order_id)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyModelAdmin):
    list_display = ["outcome", "event", "state", "received_at", "order", "refund"]
    list_display_links = ["outcome", "event"]
    list_filter = ["outcome", "event", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["merchant_order_id", "merchant_refund_id", "event_key"]
    date_hierarchy = "received_at"
    readonly_fields = ["amount"]
    exclude = ["amount_paise"]  # shown in rupees by `amount`

    amount = rupees_column("amount_paise")

    order = short_id_column("merchant_order_id", description="Order")
    refund = short_id_column("merchant_refund_id", description="Refund")


class FindingInline(admin.TabularInline):
    model = ReconciliationFinding
    extra = 0
    can_delete = False
    fields = ("outcome", "kind", "reference", "ours", "theirs", "detail", "resolved_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _total(count: str):
    @admin.display(description=count.capitalize())
    def column(self, run):
        return run.total(count)

    return column


@admin.register(ReconciliationAudit)
class ReconciliationAuditAdmin(ReadOnlyModelAdmin):
    """The audit with PhonePe, latest run first (payments/audit.py); its findings inline."""

    list_display = ["started_at", "finished_at", "complete", *AUDIT_COUNTS]
    list_filter = ["complete", ("started_at", admin.DateFieldListFilter)]
    date_hierarchy = "started_at"
    inlines = [FindingInline]

    checked = _total("checked")
    disagreements = _total("disagreements")
    repaired = _total("repaired")
    raised = _total("raised")
    unavailable = _total("unavailable")


class OpenFindingFilter(admin.SimpleListFilter):
    title = "open"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Open (for staff)"), ("no", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(resolved_at__isnull=self.value() == "yes")
        return queryset


@admin.register(ReconciliationFinding)
class ReconciliationFindingAdmin(ReadOnlyModelAdmin):
    """Disagreements with PhonePe: repaired (history) or raised for staff (open until both sides agree)."""

    list_display = [
        "outcome",
        "kind",
        "reference",
        "ours",
        "theirs",
        "detail",
        "last_seen_at",
        "acknowledged_at",
        "resolved_at",
    ]
    list_display_links = ["outcome", "reference"]
    list_filter = [OpenFindingFilter, "outcome", "kind", ("last_seen_at", admin.DateFieldListFilter)]
    search_fields = ["reference"]
    list_select_related = ["acknowledged_by"]
    actions = ["acknowledge_selected"]

    @admin.action(description="Acknowledge: taken in hand by staff (audited)")
    def acknowledge_selected(self, request, queryset):
        now = request_now(request)
        done = sum(
            finding_acknowledge(
                finding_id=finding.pk, actor=request.user, now=now, **audit_context_from_request(request)
            )
            for finding in queryset
        )
        self.message_user(request, f"{done} finding(s) acknowledged.", level=messages.SUCCESS)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not (request.user.is_active and getattr(request.user, "role", None) == "admin"):
            actions.pop("acknowledge_selected", None)
        return actions
