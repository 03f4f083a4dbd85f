"""The development payment-result page: PhonePe's redirect lands on the backend and shows the payment's status."""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from payments.models import Payment

pytestmark = pytest.mark.django_db


def _result_path(redirect_url: str) -> str:
    parts = urlsplit(redirect_url)
    return f"{parts.path}?{parts.query}"


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True


def test_development_redirect_defaults_to_the_backend_result_page(settings):
    # The development default (DEBUG or tests, no PHONEPE_REDIRECT_URL set): the API's own page.
    assert f"http://localhost:{settings.PORT}/payments/result" == settings.PHONEPE_REDIRECT_URL


def test_checkout_redirect_lands_on_a_page_that_goes_from_pending_to_success(
    debug_on, settings, auth_client, plans, simulator, create_payment, post_callback
):
    created = create_payment(auth_client)
    order = simulator.order(created["transactionId"])
    expected = f"http://localhost:{settings.PORT}/payments/result?transactionId={created['transactionId']}"
    assert order.redirect_url == expected
    page = _result_path(order.redirect_url)

    pending = Client().get(page)
    assert pending.status_code == 200
    html = pending.content.decode()
    assert 'id="status" class="status status-pending"' in html
    assert '<meta http-equiv="refresh"' in html
    assert "₹299.00" in html

    simulator.complete(created["transactionId"])
    post_callback(simulator.order_callback_body(created["transactionId"], "COMPLETED"))

    done = Client().get(page).content.decode()
    assert "Payment successful" in done
    assert 'status-success">success<' in done
    assert '<meta http-equiv="refresh"' not in done  # settled: no more polling


def test_a_failed_payment_shows_failed(debug_on, auth_client, plans, simulator, create_payment, post_callback):
    created = create_payment(auth_client)
    simulator.complete(created["transactionId"], state="FAILED")
    post_callback(simulator.order_callback_body(created["transactionId"], "FAILED"))
    html = Client().get("/payments/result", {"transactionId": created["transactionId"]}).content.decode()
    assert "Payment failed" in html
    assert Payment.objects.get(pk=created["id"]).status == "failed"


@pytest.mark.parametrize("query", [{}, {"transactionId": "M360_unknown"}, {"transactionId": "x" * 5000}])
def test_unknown_payment_is_a_404_page(debug_on, query):
    response = Client().get("/payments/result", query)
    assert response.status_code == 404
    assert "Unknown payment" in response.content.decode()


def test_the_page_does_not_exist_with_debug_off(settings, auth_client, plans, simulator, create_payment):
    created = create_payment(auth_client)
    settings.DEBUG = False
    response = Client().get("/payments/result", {"transactionId": created["transactionId"]})
    assert response.status_code == 404
    assert created["transactionId"] not in response.content.decode()
