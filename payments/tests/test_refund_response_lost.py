import pytest
from django.utils import timezone

from payments.models import PaymentStatus, Refund, RefundStatus
from payments.phonepe.client import PhonePeClient, PhonePeUnavailable
from subscriptions.models import SubscriptionStatus
from subscriptions.selectors import subscription_get_active

pytestmark = pytest.mark.django_db


def test_refund_accepted_by_gateway_despite_lost_response_still_ends_the_subscription(
    admin_client, user, paid, simulator, post_callback, monkeypatch
):
    """PhonePe took the refund but our call timed out: its later COMPLETED must still be applied."""
    original = PhonePeClient.refund

    def refund_then_time_out(self, **kwargs):
        original(self, **kwargs)
        raise PhonePeUnavailable("PhonePe refund unreachable: ReadTimeout")

    monkeypatch.setattr(PhonePeClient, "refund", refund_then_time_out)
    response = admin_client.post(f"/api/v1/admin/payments/{paid.pk}/refund", {}, format="json")
    assert response.status_code == 502
    refund = Refund.objects.get()
    assert refund.merchant_refund_id in simulator.server.state.refunds

    simulator.finish_refund(refund.merchant_refund_id)
    callback = post_callback(
        {
            "event": "pg.refund.completed",
            "payload": {
                "originalMerchantOrderId": paid.merchant_order_id,
                "merchantRefundId": refund.merchant_refund_id,
                "state": "COMPLETED",
                "amount": refund.amount_paise,
            },
        }
    )
    assert callback.status_code == 200
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED
    assert paid.status == PaymentStatus.REFUNDED
    assert subscription_get_active(now=timezone.now(), user=user) is None
    subscription = paid.grants.get().subscription
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.cancel_reason == "refunded"
