"""Browser pages of payments outside /api/ (included by the root URLconf under /payments/)."""

from django.urls import path

from payments.result_page import payment_result

urlpatterns = [
    path("result", payment_result, name="payment-result"),  # development only (DEBUG)
]
