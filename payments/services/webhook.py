"""POST /payments/webhook: PhonePe's callbacks (docs/api.md §5, docs/phonepe.md §7, §11).

Verify the sender, store each event once, confirm with PhonePe's status APIs, apply. An event whose earlier
outcome was not final (the gateway still said pending, or could not be asked) is processed again when PhonePe
delivers it again; a replay of a final outcome is acknowledged and does nothing.
"""

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from manas360.api.errors import InvalidJson, ServiceUnavailable
from manas360.api.json_input import MalformedJson, loads_strict
from payments.errors import InvalidSignature
from payments.models import Payment, Refund, WebhookEvent, WebhookOutcome
from payments.phonepe.callback import callback_is_authentic
from payments.phonepe.client import PhonePeError, PhonePeNotFound, get_client
from payments.services.orders import payment_apply_order_status
from payments.services.refunds import payment_apply_refund_status
from payments.webhook_handlers import WebhookHandler, webhook_handler_for, webhook_handler_prefixes

logger = logging.getLogger("manas360.payments")
StatusT = TypeVar("StatusT")

ORDER_EVENTS = {"checkout.order.completed", "checkout.order.failed", "pg.order.completed", "pg.order.failed"}
REFUND_EVENTS = {"pg.refund.accepted", "pg.refund.completed", "pg.refund.failed"}
# Outcomes that are not the final word: the same event delivered again is processed again.
RETRYABLE_OUTCOMES = [WebhookOutcome.GATEWAY_PENDING, WebhookOutcome.STATUS_UNAVAILABLE]


def _handled_events() -> Q:
    """Event types something here reads: payments' own order and refund events and every registered prefix."""
    handled = Q(event__in=sorted(ORDER_EVENTS | REFUND_EVENTS))
    for prefix in webhook_handler_prefixes():
        handled |= Q(event__startswith=prefix)
    return handled


def webhook_unfinished() -> Q:
    """Stored events whose outcome is not the final word, to be processed again.

    `ignored` is final only for an event type nothing here reads (it is proven to carry nothing for us); an
    `ignored` row of a type that is handled (stored before its handler existed) is processed again.
    """
    return Q(outcome__in=[WebhookOutcome.RECEIVED, *RETRYABLE_OUTCOMES]) | (
        Q(outcome=WebhookOutcome.IGNORED) & _handled_events()
    )


def _event_key(event: str, merchant_order_id: str, merchant_refund_id: str, state: str) -> str:
    raw = f"{event}|{merchant_order_id}|{merchant_refund_id}|{state}"
    return raw if len(raw) <= 255 else hashlib.sha256(raw.encode()).hexdigest()


def _safe_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """What we keep of a callback: ids, state and amounts; never instrument or payer details."""
    keep = (
        "merchantId",
        "orderId",
        "merchantOrderId",
        "originalMerchantOrderId",
        "refundId",
        "merchantRefundId",
        "merchantSubscriptionId",
        "state",
        "amount",
        "expireAt",
        "timestamp",
        "errorCode",
        "detailedErrorCode",
    )
    kept = {key: payload[key] for key in keep if key in payload and not isinstance(payload[key], (dict, list))}
    flow = payload.get("paymentFlow")
    if isinstance(flow, dict) and isinstance(flow.get("merchantSubscriptionId"), str):
        # An Autopay order's mandate: processing the event again needs it as much as the first time did.
        kept.setdefault("merchantSubscriptionId", flow["merchantSubscriptionId"])
    return kept


@dataclass(frozen=True)
class WebhookResult:
    event_id: uuid.UUID | None
    outcome: str
    duplicate: bool = False


def payment_webhook_process(*, raw_body: bytes, authorization: str | None, now: datetime) -> WebhookResult:
    """Verify, store once, confirm with the gateway, apply. See the module docstring."""
    if not callback_is_authentic(
        authorization, username=settings.PHONEPE_WEBHOOK_USERNAME, password=settings.PHONEPE_WEBHOOK_PASSWORD
    ):
        logger.warning("webhook rejected: invalid signature")
        raise InvalidSignature()
    try:
        body = loads_strict(raw_body)
    except MalformedJson:
        raise InvalidJson("Malformed JSON body.") from None
    if not isinstance(body, dict):
        raise InvalidJson("The callback body must be a JSON object.")
    raw_payload = body.get("payload")
    payload: dict[str, Any] = raw_payload if isinstance(raw_payload, dict) else {}
    event = str(body.get("event") or body.get("type") or "")[:100]
    merchant_refund_id = str(payload.get("merchantRefundId") or "")[:63]
    # The order, refund or (for a mandate's own events) Autopay subscription the event is about.
    merchant_order_id = str(
        payload.get("merchantOrderId")
        or payload.get("originalMerchantOrderId")
        or payload.get("merchantSubscriptionId")
        or ""
    )[:63]
    state = str(payload.get("state") or "").upper()[:30]
    amount = payload.get("amount") if isinstance(payload.get("amount"), int) else None

    event_row, created = _webhook_event_store(
        event_key=_event_key(event, merchant_order_id, merchant_refund_id, state),
        event=event,
        merchant_order_id=merchant_order_id,
        merchant_refund_id=merchant_refund_id,
        state=state,
        amount_paise=amount,
        payload=_safe_payload(payload),
    )
    if not created and not _webhook_event_claim_retry(event_row.pk, now=now):
        logger.info("webhook replay ignored", extra={"webhook_event_id": str(event_row.pk), "event": event})
        return WebhookResult(event_row.pk, event_row.outcome, duplicate=True)

    if event in ORDER_EVENTS:
        outcome = webhook_order_event_process(
            event_row, merchant_order_id=merchant_order_id, claimed_state=state, now=now
        )
    elif event in REFUND_EVENTS:
        outcome = webhook_refund_event_process(event_row, merchant_refund_id=merchant_refund_id, now=now)
    elif (handler := webhook_handler_for(event)) is not None:
        outcome = _process_registered_event(event_row, handler, event=event, payload=payload, now=now)
    else:
        outcome = WebhookOutcome.IGNORED
        webhook_event_finish(event_row.pk, outcome, f"event {event or 'missing'} not handled", now=now)
    logger.info("webhook processed", extra={"webhook_event_id": str(event_row.pk), "event": event, "outcome": outcome})
    return WebhookResult(event_row.pk, outcome)


def _webhook_event_store(*, event_key: str, **fields: Any) -> tuple[WebhookEvent, bool]:
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(event_key=event_key, **fields), True
    except IntegrityError:
        return WebhookEvent.objects.get(event_key=event_key), False


def _webhook_event_claim_retry(event_id: uuid.UUID, *, now: datetime) -> bool:
    """A redelivered event whose outcome was not final is processed again (one delivery at a time: the claim
    is a conditional UPDATE, so of two concurrent redeliveries only one wins). An event still `received` is
    claimed only once it has been idle for WEBHOOK_REPROCESS_AFTER_SECONDS (the process handling it died);
    before that another delivery may be processing it right now."""
    idle = now - timedelta(seconds=settings.WEBHOOK_REPROCESS_AFTER_SECONDS)
    busy = Q(outcome=WebhookOutcome.RECEIVED) & (
        Q(processed_at__gt=idle) | Q(processed_at__isnull=True, received_at__gt=idle)
    )
    return bool(
        WebhookEvent.objects.filter(webhook_unfinished(), pk=event_id)
        .exclude(busy)
        .update(outcome=WebhookOutcome.RECEIVED, processed_at=now)
    )


def webhook_event_finish(
    event_id: uuid.UUID, outcome: str, detail: str = "", payment: Payment | None = None, *, now: datetime
) -> None:
    values = {"outcome": outcome, "detail": detail[:500], "processed_at": now}
    if payment is not None:
        values["payment"] = payment
    WebhookEvent.objects.filter(pk=event_id).update(**values)


def webhook_order_event_process(
    event_row: WebhookEvent, *, merchant_order_id: str, claimed_state: str, now: datetime
) -> str:
    payment = Payment.objects.filter(merchant_order_id=merchant_order_id).first() if merchant_order_id else None
    if payment is None:
        logger.warning("webhook for unknown order", extra={"webhook_event_id": str(event_row.pk)})
        webhook_event_finish(
            event_row.pk, WebhookOutcome.UNKNOWN_ORDER, "no payment with this merchantOrderId", now=now
        )
        return WebhookOutcome.UNKNOWN_ORDER
    status = _gateway_status(
        event_row,
        lambda: get_client().get_order_status(merchant_order_id=merchant_order_id),
        what="order",
        payment=payment,
        now=now,
    )
    if status is None:
        return WebhookOutcome.REJECTED_ORDER_MISMATCH
    return payment_apply_order_status(
        payment_id=payment.pk, status=status, claimed_state=claimed_state, event_id=event_row.pk, now=now
    )


def webhook_registered_event_process(event_row: WebhookEvent, *, now: datetime) -> str | None:
    """Process a stored event another app owns again, from what was kept of its payload (ids and state).
    None when no app handles its type."""
    handler = webhook_handler_for(event_row.event)
    if handler is None:
        return None
    payload = event_row.payload if isinstance(event_row.payload, dict) else {}
    return _process_registered_event(event_row, handler, event=event_row.event, payload=payload, now=now)


def _process_registered_event(
    event_row: WebhookEvent, handler: WebhookHandler, *, event: str, payload: dict[str, Any], now: datetime
) -> str:
    """An event another app owns (payments.webhook_handlers); it confirms with PhonePe itself."""
    try:
        outcome, detail = handler(event=event, payload=payload, now=now)
    except PhonePeError as exc:
        webhook_event_finish(event_row.pk, WebhookOutcome.STATUS_UNAVAILABLE, "status check failed", now=now)
        raise ServiceUnavailable("Could not confirm the event with the gateway; retry later.") from exc
    webhook_event_finish(event_row.pk, outcome, detail, now=now)
    return str(outcome)


def webhook_refund_event_process(event_row: WebhookEvent, *, merchant_refund_id: str, now: datetime) -> str:
    refund = Refund.objects.filter(merchant_refund_id=merchant_refund_id).first() if merchant_refund_id else None
    if refund is None:
        logger.warning("webhook for unknown refund", extra={"webhook_event_id": str(event_row.pk)})
        webhook_event_finish(
            event_row.pk, WebhookOutcome.UNKNOWN_ORDER, "no refund with this merchantRefundId", now=now
        )
        return WebhookOutcome.UNKNOWN_ORDER
    status = _gateway_status(
        event_row,
        lambda: get_client().get_refund_status(merchant_refund_id=merchant_refund_id),
        what="refund",
        now=now,
    )
    if status is None:
        return WebhookOutcome.REJECTED_ORDER_MISMATCH
    return payment_apply_refund_status(refund_id=refund.pk, status=status, event_id=event_row.pk, now=now)


def _gateway_status(
    event_row: WebhookEvent,
    ask: Callable[[], StatusT],
    *,
    what: str,
    now: datetime,
    payment: Payment | None = None,
) -> StatusT | None:
    """PhonePe's word on the event's order or refund (`what`). None when PhonePe has no such thing (the event is
    finished as a mismatch); ServiceUnavailable when PhonePe cannot be asked (the event is left
    `status_unavailable`, so a redelivery or the reprocessing job tries again)."""
    try:
        return ask()
    except PhonePeNotFound:
        detail = f"gateway has no such {what}"
        webhook_event_finish(event_row.pk, WebhookOutcome.REJECTED_ORDER_MISMATCH, detail, payment, now=now)
        return None
    except PhonePeError as exc:
        webhook_event_finish(
            event_row.pk, WebhookOutcome.STATUS_UNAVAILABLE, f"{what} status check failed", payment, now=now
        )
        raise ServiceUnavailable(f"Could not confirm the {what} with the gateway; retry later.") from exc
