"""Orders as PhonePe shows them: the status body, attempts, expiry and callback bodies.

Pure functions over `SimulatorState`; the caller holds `state.lock`. Setup and
redemption orders of Autopay are orders too: their status body carries the
subscription's `paymentFlow`.
"""

import secrets

from payments.phonepe.simulator.state import (
    EVENT_TYPES,
    FLOW_PG,
    REDEMPTION_FLOWS,
    SETUP_FLOWS,
    SimOrder,
    SimulatorState,
    gateway_id,
)

TERMINAL = {"COMPLETED", "FAILED"}


def callback_body(event: str, payload: dict) -> dict:
    return {"event": event, "type": EVENT_TYPES.get(event, event.upper().replace(".", "_")), "payload": payload}


def payment_flow(state: SimulatorState, order: SimOrder) -> dict:
    if order.flow_type == FLOW_PG:
        return {"type": FLOW_PG}
    flow: dict = {"type": order.flow_type, "merchantSubscriptionId": order.merchant_subscription_id}
    subscription = state.subscription_of(order)
    if order.flow_type in SETUP_FLOWS and subscription is not None:
        flow.update(
            {
                "subscriptionId": subscription.subscription_id,
                "authWorkflowType": subscription.auth_workflow_type,
                "amountType": subscription.amount_type,
                "maxAmount": subscription.max_amount,
                "frequency": subscription.frequency,
                "expireAt": subscription.expire_at_ms,
            }
        )
    if order.flow_type in REDEMPTION_FLOWS:
        flow.update(
            {
                "redemptionRetryStrategy": order.retry_strategy,
                "autoDebit": order.auto_debit,
                "notifiedAt": order.notified_at_ms,
                "validAfter": order.valid_after_ms,
                "validUpto": order.expire_at_ms,
            }
        )
    return flow


def order_view(state: SimulatorState, order: SimOrder, *, details: bool = True) -> dict:
    attempts = order.payment_details if details else order.payment_details[-1:]
    amount = order.recorded_amount if order.recorded_amount is not None else order.amount
    failed = order.state == "FAILED"
    return {
        "merchantId": state.config["merchant_id"],
        "merchantOrderId": order.merchant_order_id,
        "orderId": order.order_id,
        "state": order.state,
        "amount": amount,
        "payableAmount": amount,
        "feeAmount": 0,
        "expireAt": order.expire_at_ms,
        "errorCode": "PAYMENT_ERROR" if failed else None,
        "detailedErrorCode": "TXN_FAILED" if failed else None,
        "metaInfo": order.meta_info,
        "paymentDetails": attempts,
        "paymentFlow": payment_flow(state, order),
    }


def expire_if_due(state: SimulatorState, order: SimOrder) -> list[dict]:
    """A PENDING (or un-debited NOTIFIED) order past its expiry fails; returns the callbacks to send."""
    if order.state not in ("PENDING", "NOTIFIED") or order.expire_at_ms > state.now_ms():
        return []
    order.state = "FAILED"
    subscription = state.subscription_of(order)
    if order.flow_type in SETUP_FLOWS and subscription is not None and subscription.state == "ACTIVATION_IN_PROGRESS":
        subscription.state = "FAILED"
    return []


def order_status(state: SimulatorState, merchant_order_id: str, *, query: dict[str, list[str]]) -> tuple[int, dict]:
    """The order-status answer (`?details=true` lists every attempt), for the checkout and Autopay routes alike.
    The caller holds the state lock."""
    order = state.orders.get(merchant_order_id)
    if order is None:
        return 404, {"code": "ORDER_NOT_FOUND", "message": "No order with this merchantOrderId", "data": {}}
    expire_if_due(state, order)
    details = (query.get("details") or ["false"])[0].lower() == "true"
    return 200, order_view(state, order, details=details)


def record_attempt(state: SimulatorState, order: SimOrder, outcome: str, amount: int | None = None) -> None:
    """Record an attempt and move the order to `outcome` (COMPLETED or FAILED)."""
    attempt_amount = amount if amount is not None else order.amount
    order.recorded_amount = amount
    order.state = outcome
    failed = outcome == "FAILED"
    order.payment_details.append(
        {
            "transactionId": gateway_id("OM"),
            "paymentMode": "UPI_AUTO_PAY" if order.flow_type in REDEMPTION_FLOWS else "UPI_INTENT",
            "timestamp": state.now_ms(),
            "amount": attempt_amount,
            "payableAmount": attempt_amount,
            "feeAmount": 0,
            "state": outcome,
            "errorCode": "PAYMENT_ERROR" if failed else None,
            "detailedErrorCode": "TXN_FAILED" if failed else None,
            "instrument": {"type": "ACCOUNT", "maskedAccountNumber": "XXXXXXXX4321", "ifsc": "SIMB0000001"},
            "rail": {
                "type": "UPI",
                "utr": str(secrets.randbelow(10**12)).zfill(12),
                "upiTransactionId": "SIM" + secrets.token_hex(8).upper(),
                "vpa": "demo.payer@ybl",
            },
        }
    )


def order_callback(state: SimulatorState, order: SimOrder, *, event: str, claimed_state: str, amount=None) -> dict:
    payload = order_view(state, order)
    payload["state"] = claimed_state
    if amount is not None:
        payload["amount"] = amount
    return callback_body(event, payload)
