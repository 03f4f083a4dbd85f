"""PhonePe's `subscription.*` callbacks, received through the payments webhook (verified, stored once).

Each one only tells us *what* to look at; what changed is read from PhonePe's status API:
mandate events (setup order, paused, unpaused, revoked, cancelled) through `mandate_sync`,
a cycle's notification and redemption events through `renewal_sync`. A redemption event whose debit
PhonePe has not settled yet is `gateway_pending`, not final: its redelivery, or payments' reprocessing job,
processes it again (the renewal job settles the debit meanwhile anyway).
"""

from datetime import datetime
from typing import Any

from autopay.models import OPEN_RENEWAL_STATES, Mandate, Renewal
from autopay.renewals import renewal_sync
from autopay.services import mandate_sync
from payments.api import WebhookOutcome, register_webhook_handler

CYCLE_EVENTS = ("subscription.notification.", "subscription.redemption.")
REDEMPTION_EVENTS = "subscription.redemption."


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _subscription_id(payload: dict[str, Any]) -> str:
    flow = as_dict(payload.get("paymentFlow"))
    return str(payload.get("merchantSubscriptionId") or flow.get("merchantSubscriptionId") or "")[:63]


def handle_subscription_event(*, event: str, payload: dict[str, Any], now: datetime) -> tuple[str, str]:
    merchant_order_id = str(payload.get("merchantOrderId") or "")[:63]
    if event.startswith(CYCLE_EVENTS):
        renewal = Renewal.objects.filter(merchant_order_id=merchant_order_id).first() if merchant_order_id else None
        if renewal is None:
            return WebhookOutcome.UNKNOWN_ORDER, "no renewal with this merchantOrderId"
        changed = renewal_sync(renewal_id=renewal.pk, now=now)
        renewal.refresh_from_db()
        if event.startswith(REDEMPTION_EVENTS) and renewal.state in OPEN_RENEWAL_STATES:
            return WebhookOutcome.GATEWAY_PENDING, f"renewal still {renewal.state}; gateway {renewal.gateway_state}"
        return (WebhookOutcome.APPLIED if changed else WebhookOutcome.ALREADY_APPLIED), ""
    merchant_subscription_id = _subscription_id(payload)
    mandate = None
    if merchant_subscription_id:
        mandate = Mandate.objects.filter(merchant_subscription_id=merchant_subscription_id).first()
    if mandate is None and merchant_order_id:
        mandate = Mandate.objects.filter(setup_payment__merchant_order_id=merchant_order_id).first()
    if mandate is None:
        return WebhookOutcome.UNKNOWN_ORDER, "no mandate with this merchantSubscriptionId"
    changed = mandate_sync(mandate_id=mandate.pk, now=now)
    return (WebhookOutcome.APPLIED if changed else WebhookOutcome.ALREADY_APPLIED), ""


def register() -> None:
    register_webhook_handler("subscription.", handle_subscription_event)
