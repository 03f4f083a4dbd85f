"""Refunds decided by the rules are durable: the row is written with the decision and sent idempotently."""

import ast
import pathlib

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from payments import fulfilment
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.phonepe.client import PhonePeClient, PhonePeUnavailable
from payments.services import refund_send, refunds_retry
from subscriptions.fulfilment import PLAN_PRODUCT
from subscriptions.models import Grant
from subscriptions.selectors import subscription_get_active
from subscriptions.tests.factories import GrantedSubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def refused(auth_client, user, plans, simulator, create_payment, post_callback, settings, monkeypatch):
    """A monthly payment that succeeds while the user holds the lifetime plan; PhonePe's refund API is down
    when the rules decide to refund it."""
    settings.PAYMENT_RECONCILE_INTERVAL_SECONDS = 0
    payment = create_payment(auth_client)
    GrantedSubscriptionFactory(user=user, plan=plans["anytimebuddy_lifetime"])
    simulator.complete(payment["transactionId"])
    simulator.post("/simulator/faults", {"operation": "refund", "status": 503, "count": 10})
    response = post_callback(simulator.order_callback_body(payment["transactionId"], "COMPLETED"))
    assert response.status_code == 200
    return Payment.objects.get(pk=payment["id"])


def test_refund_row_is_written_with_the_decision_even_when_phonepe_is_down(refused, user, simulator):
    refund = Refund.objects.get(payment=refused)
    assert refund.automatic is True
    assert refund.status == RefundStatus.PENDING
    assert refund.sent_at is None
    assert refused.status == PaymentStatus.SUCCESS
    assert "for life" in refused.refund_reason
    assert not Grant.objects.filter(payment=refused).exists()
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == "anytimebuddy_lifetime"
    assert simulator.server.state.refunds == {}


def test_the_sweep_sends_it_with_the_same_id_and_the_callback_completes_it(refused, simulator, post_callback):
    refund = Refund.objects.get(payment=refused)
    simulator.server.state.faults.clear()
    assert refunds_retry(now=timezone.now()) == 1
    refund.refresh_from_db()
    assert refund.sent_at is not None
    assert list(simulator.server.state.refunds) == [refund.merchant_refund_id]

    # Sending again (a second sweep, a retrying job) neither duplicates nor fails it.
    refund_send(now=timezone.now(), refund_id=refund.pk)
    refunds_retry(now=timezone.now())
    assert list(simulator.server.state.refunds) == [refund.merchant_refund_id]
    assert Refund.objects.filter(payment=refused).count() == 1

    simulator.finish_refund(refund.merchant_refund_id)
    body = {
        "event": "pg.refund.completed",
        "payload": {
            "merchantRefundId": refund.merchant_refund_id,
            "originalMerchantOrderId": refused.merchant_order_id,
            "state": "COMPLETED",
            "amount": refund.amount_paise,
        },
    }
    assert post_callback(body).status_code == 200
    refused.refresh_from_db()
    assert refused.status == PaymentStatus.REFUNDED


def test_a_lost_response_is_not_sent_twice(refused, simulator, monkeypatch):
    """PhonePe took the refund but our call timed out: the next attempt asks before sending."""
    simulator.server.state.faults.clear()
    original = PhonePeClient.refund

    def take_then_time_out(self, **kwargs):
        original(self, **kwargs)
        raise PhonePeUnavailable("PhonePe refund unreachable: ReadTimeout")

    monkeypatch.setattr(PhonePeClient, "refund", take_then_time_out)
    refund = Refund.objects.get(payment=refused)
    refunds_retry(now=timezone.now())
    monkeypatch.setattr(PhonePeClient, "refund", original)
    refunds_retry(now=timezone.now())
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert refund.sent_at is not None
    assert len(simulator.server.state.refunds) == 1


def test_a_failed_automatic_refund_is_opened_again_by_the_sweep(refused, simulator, post_callback):
    simulator.server.state.faults.clear()
    refunds_retry(now=timezone.now())
    first = Refund.objects.get(payment=refused)
    simulator.finish_refund(first.merchant_refund_id, "FAILED")
    refunds_retry(now=timezone.now())  # learns the failure from the status API ...
    first.refresh_from_db()
    assert first.status == RefundStatus.FAILED
    refunds_retry(now=timezone.now())  # ... and opens a new refund: the money must go back
    second = Refund.objects.exclude(pk=first.pk).get(payment=refused)
    assert second.automatic is True
    assert second.merchant_refund_id != first.merchant_refund_id
    assert second.merchant_refund_id in simulator.server.state.refunds


def test_payments_imports_nothing_from_subscriptions():
    root = pathlib.Path(__file__).resolve().parents[1]
    offenders = []
    for path in root.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] == "subscriptions"]
    assert offenders == []


def test_registry_fails_loudly_for_unknown_or_doubly_registered_products():
    with pytest.raises(ImproperlyConfigured):
        fulfilment.product_for("therapist_booking")

    class Impostor:
        key = PLAN_PRODUCT

    with pytest.raises(ImproperlyConfigured):
        fulfilment.register(Impostor())
    assert type(fulfilment.product_for(PLAN_PRODUCT)).__name__ == "PlanProduct"

    class SecondCheckout:
        key = "therapist_booking"

    with pytest.raises(ImproperlyConfigured):  # `POST /payments/create` sells one product: plans
        fulfilment.register(SecondCheckout(), checkout=True)
    assert fulfilment.checkout_product().key == PLAN_PRODUCT
    with pytest.raises(ImproperlyConfigured):
        fulfilment.product_for("therapist_booking")  # the refused registration left nothing behind


def test_a_renewal_charge_is_a_ledger_payment_whose_period_is_appended(user, plans):
    """The seam Autopay uses: a pending row for the plan's offer, then PhonePe's word on the debit."""
    from datetime import timedelta

    from django.db import transaction

    from payments.phonepe.client import OrderStatus
    from payments.services import payment_apply_order_status, payment_open

    GrantedSubscriptionFactory(user=user, plan=plans["premium_monthly"])
    end = subscription_get_active(now=timezone.now(), user=user).end_date
    offer = fulfilment.product_for(PLAN_PRODUCT).offer(now=timezone.now(), user=None, ref="premium_monthly")
    with transaction.atomic():
        renewal = payment_open(user=user, offer=offer, merchant_order_id="M360_renewal_cycle_2")
    outcome = payment_apply_order_status(
        now=timezone.now(),
        payment_id=renewal.pk,
        status=OrderStatus(
            merchant_order_id="M360_renewal_cycle_2", order_id="", state="COMPLETED", amount=29900, expire_at_ms=None
        ),
    )
    assert outcome == "applied"
    renewal.refresh_from_db()
    assert renewal.status == PaymentStatus.SUCCESS
    assert renewal.product_ref == "premium_monthly"
    assert subscription_get_active(now=timezone.now(), user=user).end_date == end + timedelta(days=30)
    assert Grant.objects.get(payment=renewal).starts_at == end


def test_automatic_refunds_that_keep_failing_stop_at_the_cap(refused, simulator):
    from payments.services.refunds import MAX_AUTOMATIC_REFUND_ATTEMPTS

    simulator.server.state.faults.clear()
    for _ in range(MAX_AUTOMATIC_REFUND_ATTEMPTS + 2):
        refunds_retry(now=timezone.now())  # opens (or sends) one
        for refund in Refund.objects.filter(payment=refused, status=RefundStatus.PENDING).exclude(sent_at=None):
            simulator.finish_refund(refund.merchant_refund_id, "FAILED")
        refunds_retry(now=timezone.now())  # learns the failure
    assert Refund.objects.filter(payment=refused).count() == MAX_AUTOMATIC_REFUND_ATTEMPTS
    assert not Refund.objects.filter(payment=refused).exclude(status=RefundStatus.FAILED).exists()
