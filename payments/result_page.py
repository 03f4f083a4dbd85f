"""The development payment-result page: where the PhonePe (simulator) checkout sends the browser back.

In production PhonePe redirects to the web app's result page (PHONEPE_REDIRECT_URL). In development there may
be no web app running, so the default redirect lands here instead: a small page showing the payment's status
that refreshes itself while the payment is pending, until the callback (or a status check) settles it.

Development only (DEBUG): it answers by merchant order id without a signed-in user, which production must
not do; with DEBUG off it is a 404.
"""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from manas360.api.clock import request_now
from manas360.money import format_rupees
from payments.fulfilment import payment_label, product_for
from payments.models import Payment, PaymentStatus
from payments.services import payment_reconcile_if_stale

REFRESH_SECONDS = 2
_HEADLINES: dict[str, str] = {
    PaymentStatus.PENDING: "Waiting for PhonePe to confirm the payment…",
    PaymentStatus.SUCCESS: "Payment successful",
    PaymentStatus.FAILED: "Payment failed",
    PaymentStatus.REFUNDED: "Payment refunded",
}


@never_cache
@require_safe
def payment_result(request: HttpRequest) -> HttpResponse:
    if not settings.DEBUG:
        raise Http404()
    merchant_order_id = request.GET.get("transactionId", "")[:63]
    payment = Payment.objects.filter(merchant_order_id=merchant_order_id).first() if merchant_order_id else None
    if payment is None:
        return render(request, "payments/result.html", {"payment": None}, status=404)
    # A callback lost on the way (simulator stopped, API restarted) must not leave the page waiting forever.
    if payment_reconcile_if_stale(payment=payment, now=request_now(request)):
        payment.refresh_from_db()
    pending = payment.status == PaymentStatus.PENDING
    context = {
        "payment": payment,
        "headline": _HEADLINES[payment.status],
        "amount": format_rupees(payment.amount_paise),
        "pending": pending,
        "bought": payment_label(payment),
        # What the payment bought, as its product describes it (payments does not know plans).
        "access": product_for(payment.product).describe(payment=payment, now=request_now(request)).get("subscription")
        if payment.product
        else None,
        "refresh_seconds": REFRESH_SECONDS,
    }
    return render(request, "payments/result.html", context)
