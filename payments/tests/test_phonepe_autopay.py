"""The Autopay client against the simulator: setup (both routes), status, notify, redeem, order status,
cancel, and the simulator's own rules (24 h gap, FIXED amount, failing debits, revocation, clock)."""

import time

import pytest
import requests

from payments.phonepe.autopay import AutopayClient
from payments.phonepe.client import PhonePeRejected

DAY = 24 * 3600
MONTHLY = 29900


@pytest.fixture
def client(simulator):
    return AutopayClient()


def _in_days_ms(days: int) -> int:
    return int((time.time() + days * DAY) * 1000)


def _checkout_setup(client, suffix: str, amount=MONTHLY):
    return client.create_subscription_checkout(
        merchant_order_id=f"M360S_{suffix}",
        merchant_subscription_id=f"MS_{suffix}",
        amount_paise=amount,
        max_amount_paise=MONTHLY,
        frequency="MONTHLY",
        subscription_expire_at_ms=_in_days_ms(3650),
        redirect_url="http://localhost/back",
    )


def _active(client, simulator, suffix: str):
    _checkout_setup(client, suffix)
    simulator.complete(f"M360S_{suffix}", "COMPLETED")
    return f"MS_{suffix}"


def test_checkout_setup_is_pending_until_the_user_approves_then_active(client, simulator):
    order = _checkout_setup(client, "approve")
    assert order.order_id.startswith("OMO")
    assert "/simulator/checkout/" in order.redirect_url
    assert client.get_subscription_status(merchant_subscription_id="MS_approve").state == "ACTIVATION_IN_PROGRESS"
    page = requests.get(order.redirect_url, timeout=10)
    assert "MONTHLY" in page.text
    assert "Approve mandate" in page.text

    simulator.complete("M360S_approve", "COMPLETED")

    status = client.get_subscription_status(merchant_subscription_id="MS_approve")
    assert (status.state, status.max_amount, status.frequency) == ("ACTIVE", MONTHLY, "MONTHLY")
    assert status.subscription_id.startswith("OMS")
    setup_order = client.get_subscription_order_status(merchant_order_id="M360S_approve")
    assert (setup_order.state, setup_order.amount) == ("COMPLETED", MONTHLY)
    assert setup_order.flow_type == "SUBSCRIPTION_CHECKOUT_SETUP"
    assert setup_order.merchant_subscription_id == "MS_approve"


def test_declined_setup_fails_the_subscription(client, simulator):
    _checkout_setup(client, "decline")
    simulator.complete("M360S_decline", "FAILED")
    assert client.get_subscription_status(merchant_subscription_id="MS_decline").state == "FAILED"
    with pytest.raises(PhonePeRejected) as rejected:
        client.notify_redemption(
            merchant_order_id="M360R_decline", merchant_subscription_id="MS_decline", amount_paise=MONTHLY
        )
    assert rejected.value.code == "SUBSCRIPTION_NOT_ACTIVE"
    assert "M360R_decline" not in simulator.server.state.orders


def test_setup_details_are_validated(client, simulator):
    with pytest.raises(PhonePeRejected) as rejected:
        _checkout_setup(client, "too_much", amount=MONTHLY + 1)
    assert rejected.value.status_code == 400
    assert simulator.server.state.subscriptions == {}
    assert simulator.server.state.orders == {}


def test_api_setup_route_of_the_official_sdk(client, simulator):
    result = client.setup_subscription(
        merchant_order_id="M360S_api",
        merchant_subscription_id="MS_api",
        amount_paise=MONTHLY,
        max_amount_paise=MONTHLY,
        frequency="MONTHLY",
        subscription_expire_at_ms=_in_days_ms(365),
        order_expire_at_ms=_in_days_ms(1),
        vpa="someone@ybl",
    )
    assert result.state == "PENDING"
    assert result.intent_url.startswith("upi://mandate")
    simulator.complete("M360S_api", "COMPLETED")
    assert client.get_subscription_status(merchant_subscription_id="MS_api").state == "ACTIVE"
    assert client.get_subscription_order_status(merchant_order_id="M360S_api").flow_type == "SUBSCRIPTION_SETUP"


def test_notify_then_redeem_only_after_24_hours(client, simulator):
    msid = _active(client, simulator, "cycle")
    notified = client.notify_redemption(
        merchant_order_id="M360R_c1", merchant_subscription_id=msid, amount_paise=MONTHLY
    )
    assert notified.state == "NOTIFIED"
    order = client.get_subscription_order_status(merchant_order_id="M360R_c1")
    assert order.state == "NOTIFIED"
    assert order.valid_after_ms - order.notified_at_ms == DAY * 1000

    with pytest.raises(PhonePeRejected) as early:
        client.redeem(merchant_order_id="M360R_c1")
    assert early.value.code == "REDEMPTION_TOO_EARLY"
    assert client.get_subscription_order_status(merchant_order_id="M360R_c1").state == "NOTIFIED"

    simulator.post("/simulator/clock", {"advanceSeconds": DAY})
    redeemed = client.redeem(merchant_order_id="M360R_c1")
    assert redeemed.state == "COMPLETED"
    assert redeemed.transaction_id.startswith("OM")
    settled = client.get_subscription_order_status(merchant_order_id="M360R_c1")
    assert (settled.state, settled.amount, settled.transaction_id) == ("COMPLETED", MONTHLY, redeemed.transaction_id)


def test_notify_is_idempotent_by_merchant_order_id(client, simulator):
    msid = _active(client, simulator, "again")
    first = client.notify_redemption(merchant_order_id="M360R_a1", merchant_subscription_id=msid, amount_paise=MONTHLY)
    second = client.notify_redemption(merchant_order_id="M360R_a1", merchant_subscription_id=msid, amount_paise=MONTHLY)
    assert second.order_id == first.order_id
    redemptions = [o for o in simulator.server.state.orders.values() if o.flow_type == "SUBSCRIPTION_REDEMPTION"]
    assert len(redemptions) == 1


def test_a_lost_notify_answer_is_recovered_from_the_order_status(client, simulator):
    msid = _active(client, simulator, "lost")
    simulator.post("/simulator/faults", {"operation": "notify", "status": 503, "count": 1})
    notified = client.notify_redemption(
        merchant_order_id="M360R_l1", merchant_subscription_id=msid, amount_paise=MONTHLY
    )
    assert notified.state == "NOTIFIED"
    assert simulator.server.state.orders["M360R_l1"].state == "NOTIFIED"


def test_fixed_mandate_is_debited_exactly_its_amount(client, simulator):
    msid = _active(client, simulator, "fixed")
    with pytest.raises(PhonePeRejected):
        client.notify_redemption(merchant_order_id="M360R_f1", merchant_subscription_id=msid, amount_paise=MONTHLY - 1)
    assert "M360R_f1" not in simulator.server.state.orders


def test_failing_debit_then_success(client, simulator):
    msid = _active(client, simulator, "failing")
    simulator.post(f"/simulator/subscriptions/{msid}/fail-next-debit", {"count": 1})
    client.notify_redemption(merchant_order_id="M360R_x1", merchant_subscription_id=msid, amount_paise=MONTHLY)
    simulator.post("/simulator/clock", {"advanceSeconds": DAY + 60})
    assert client.redeem(merchant_order_id="M360R_x1").state == "FAILED"
    assert client.get_subscription_order_status(merchant_order_id="M360R_x1").state == "FAILED"
    # A failed order is final: redeeming it again answers its state and debits nothing.
    assert client.redeem(merchant_order_id="M360R_x1").state == "FAILED"
    assert len(simulator.server.state.orders["M360R_x1"].payment_details) == 1

    client.notify_redemption(merchant_order_id="M360R_x2", merchant_subscription_id=msid, amount_paise=MONTHLY)
    simulator.post("/simulator/clock", {"advanceSeconds": DAY + 60})
    assert client.redeem(merchant_order_id="M360R_x2").state == "COMPLETED"


def test_auto_debit_runs_when_the_clock_passes_the_notice(client, simulator):
    msid = _active(client, simulator, "auto")
    client.notify_redemption(
        merchant_order_id="M360R_auto", merchant_subscription_id=msid, amount_paise=MONTHLY, auto_debit=True
    )
    simulator.post("/simulator/clock", {"advanceSeconds": DAY - 60})
    assert client.get_subscription_order_status(merchant_order_id="M360R_auto").state == "NOTIFIED"
    simulator.post("/simulator/clock", {"advanceSeconds": 120})
    assert client.get_subscription_order_status(merchant_order_id="M360R_auto").state == "COMPLETED"


def test_cancel_revoke_and_expiry_end_the_mandate(client, simulator):
    cancelled = _active(client, simulator, "cancel")
    assert client.cancel_subscription(merchant_subscription_id=cancelled) is None
    assert client.get_subscription_status(merchant_subscription_id=cancelled).state == "CANCELLED"
    with pytest.raises(PhonePeRejected):
        client.cancel_subscription(merchant_subscription_id=cancelled)

    revoked = _active(client, simulator, "revoke")
    assert simulator.post(f"/simulator/subscriptions/{revoked}/revoke").status_code == 200
    assert client.get_subscription_status(merchant_subscription_id=revoked).state == "REVOKED"
    assert simulator.post(f"/simulator/subscriptions/{revoked}/unpause").status_code == 409

    expiring = _active(client, simulator, "expire")
    simulator.post("/simulator/clock", {"advanceSeconds": 3651 * DAY})
    assert client.get_subscription_status(merchant_subscription_id=expiring).state == "EXPIRED"


def test_both_notify_paths_are_served(client, simulator):
    """Some PhonePe pages name `/checkout/v2/subscriptions/notify` for the checkout-setup flow."""
    msid = _active(client, simulator, "paths")
    token = client._authorization()
    response = requests.post(
        simulator.server.pg_base_url + "/checkout/v2/subscriptions/notify",
        json={
            "merchantOrderId": "M360R_p1",
            "amount": MONTHLY,
            "paymentFlow": {"type": "SUBSCRIPTION_CHECKOUT_REDEMPTION", "merchantSubscriptionId": msid},
        },
        headers={"Authorization": token},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "NOTIFIED"


def test_unknown_subscription_is_not_found(client, simulator):
    with pytest.raises(PhonePeRejected) as missing:
        client.get_subscription_status(merchant_subscription_id="MS_nobody")
    assert missing.value.status_code == 404
