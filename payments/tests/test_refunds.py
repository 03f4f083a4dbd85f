import pytest
from django.utils import timezone

from accounts.models import AuditLog
from payments.models import PaymentStatus, Refund, RefundStatus
from subscriptions.models import SubscriptionStatus
from subscriptions.selectors import subscription_get_active, user_entitlements

pytestmark = pytest.mark.django_db


def _refund_callback(simulator, refund, state="COMPLETED"):
    return {
        "event": "pg.refund.completed" if state == "COMPLETED" else "pg.refund.failed",
        "type": "PG_REFUND_COMPLETED",
        "payload": {
            "originalMerchantOrderId": refund.payment.merchant_order_id,
            "merchantRefundId": refund.merchant_refund_id,
            "refundId": refund.gateway_refund_id,
            "state": state,
            "amount": refund.amount_paise,
        },
    }


def test_refund_ends_the_subscription(admin_client, user, paid, simulator, post_callback):
    response = admin_client.post(f"/api/v1/admin/payments/{paid.pk}/refund", {"reason": "duplicate"}, format="json")
    assert response.status_code == 202
    data = response.json()["data"]
    assert data["refund"]["status"] == "pending"
    assert data["status"] == "success"
    refund = Refund.objects.get()
    assert simulator.server.state.refunds[refund.merchant_refund_id].amount == 29900
    # Until PhonePe completes it, nothing changes.
    assert subscription_get_active(now=timezone.now(), user=user) is not None

    simulator.finish_refund(refund.merchant_refund_id)  # no callback URL: deliver it ourselves
    callback = post_callback(_refund_callback(simulator, refund))
    assert callback.status_code == 200
    paid.refresh_from_db()
    refund.refresh_from_db()
    assert paid.status == PaymentStatus.REFUNDED
    assert paid.refunded_at is not None
    assert refund.status == RefundStatus.COMPLETED
    assert subscription_get_active(now=timezone.now(), user=user) is None
    assert user_entitlements(now=timezone.now(), user=user) == frozenset()
    subscription = paid.grants.get().subscription
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.cancel_reason == "refunded"
    assert AuditLog.objects.filter(action="payment.refund", resource_id=str(paid.pk)).count() == 2
    assert AuditLog.objects.filter(
        action="payment.state_change", resource_id=str(paid.pk), changes__after__status="refunded"
    ).exists()

    again = admin_client.post(f"/api/v1/admin/payments/{paid.pk}/refund", {}, format="json")
    assert again.status_code == 409
    assert Refund.objects.count() == 1


def test_refund_completed_without_callback_is_picked_up_on_read(
    admin_client, auth_client, user, paid, simulator, settings
):
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    admin_client.post(f"/api/v1/admin/payments/{paid.pk}/refund", {}, format="json")
    simulator.finish_refund(Refund.objects.get().merchant_refund_id)
    data = auth_client.get(f"/api/v1/payments/{paid.merchant_order_id}").json()["data"]
    assert data["status"] == "refunded"
    assert subscription_get_active(now=timezone.now(), user=user) is None


def test_failed_refund_keeps_the_payment(admin_client, user, paid, simulator, post_callback):
    admin_client.post(f"/api/v1/admin/payments/{paid.pk}/refund", {}, format="json")
    refund = Refund.objects.get()
    simulator.finish_refund(refund.merchant_refund_id, "FAILED")
    post_callback(_refund_callback(simulator, refund, "FAILED"))
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert paid.status == PaymentStatus.SUCCESS
    assert subscription_get_active(now=timezone.now(), user=user) is not None


def test_refund_needs_an_admin_with_mfa(auth_client, make_auth_client, admin_user, paid):
    admin_without_mfa = make_auth_client(admin_user, mfa_verified=False)
    patient = auth_client.post(f"/api/v1/admin/payments/{paid.pk}/refund", {}, format="json")
    no_mfa = admin_without_mfa.post(f"/api/v1/admin/payments/{paid.pk}/refund", {}, format="json")
    assert patient.status_code == 403
    assert no_mfa.status_code == 403
    assert no_mfa.json()["code"] == "admin_mfa_required"
    assert Refund.objects.count() == 0
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.SUCCESS


def test_pending_payment_cannot_be_refunded(admin_client, auth_client, plans, simulator, create_payment):
    payment = create_payment(auth_client)
    response = admin_client.post(f"/api/v1/admin/payments/{payment['id']}/refund", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "payment_not_refundable"
    assert Refund.objects.count() == 0
    assert admin_client.post("/api/v1/admin/payments/nope/refund", {}, format="json").status_code == 404
