"""The simulator's memory: orders, refunds, Autopay subscriptions, tokens, faults and its clock.

Everything here is plain data guarded by `SimulatorState.lock`. The clock is the
simulator's own: real time plus an offset that tests move forward (`advance`), so a
year of monthly Autopay debits runs in seconds while tokens keep real time.
"""

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

MERCHANT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,63}$")

EVENT_TYPES = {
    "checkout.order.completed": "CHECKOUT_ORDER_COMPLETED",
    "checkout.order.failed": "CHECKOUT_ORDER_FAILED",
    "checkout.transaction.attempt.failed": "CHECKOUT_TRANSACTION_ATTEMPT_FAILED",
    "pg.refund.accepted": "PG_REFUND_ACCEPTED",
    "pg.refund.completed": "PG_REFUND_COMPLETED",
    "pg.refund.failed": "PG_REFUND_FAILED",
    "subscription.setup.order.completed": "SUBSCRIPTION_SETUP_ORDER_COMPLETED",
    "subscription.setup.order.failed": "SUBSCRIPTION_SETUP_ORDER_FAILED",
    "subscription.notification.completed": "SUBSCRIPTION_NOTIFICATION_COMPLETED",
    "subscription.notification.failed": "SUBSCRIPTION_NOTIFICATION_FAILED",
    "subscription.redemption.order.completed": "SUBSCRIPTION_REDEMPTION_ORDER_COMPLETED",
    "subscription.redemption.order.failed": "SUBSCRIPTION_REDEMPTION_ORDER_FAILED",
    "subscription.redemption.transaction.completed": "SUBSCRIPTION_REDEMPTION_TRANSACTION_COMPLETED",
    "subscription.redemption.transaction.failed": "SUBSCRIPTION_REDEMPTION_TRANSACTION_FAILED",
    "subscription.paused": "SUBSCRIPTION_PAUSED",
    "subscription.unpaused": "SUBSCRIPTION_UNPAUSED",
    "subscription.revoked": "SUBSCRIPTION_REVOKED",
    "subscription.cancelled": "SUBSCRIPTION_CANCELLED",
}

# Order flows. A checkout-page setup and an API setup both create a subscription.
FLOW_PG = "PG_CHECKOUT"
FLOW_CHECKOUT_SETUP = "SUBSCRIPTION_CHECKOUT_SETUP"
FLOW_API_SETUP = "SUBSCRIPTION_SETUP"
FLOW_REDEMPTION = "SUBSCRIPTION_REDEMPTION"
SETUP_FLOWS = {FLOW_CHECKOUT_SETUP, FLOW_API_SETUP}
REDEMPTION_FLOWS = {FLOW_REDEMPTION, "SUBSCRIPTION_CHECKOUT_REDEMPTION"}

FREQUENCIES = {
    "DAILY",
    "WEEKLY",
    "MONTHLY",
    "YEARLY",
    "FORTNIGHTLY",
    "BIMONTHLY",
    "ON_DEMAND",
    "QUARTERLY",
    "HALFYEARLY",
}
AUTH_WORKFLOWS = {"TRANSACTION", "PENNY_DROP"}
AMOUNT_TYPES = {"FIXED", "VARIABLE"}
PENNY_DROP_AMOUNT = 200
NOTIFY_TO_DEBIT_MS = 24 * 3600 * 1000  # UPI rule: the debit waits at least 24 h after the notification
NOTIFY_DEFAULT_VALIDITY_MS = 48 * 3600 * 1000
# PhonePe's defaults for the optional fields (docs/phonepe-simulator.md, "Defaults").
CHECKOUT_ORDER_DEFAULT_SECONDS = 1200  # `expireAfter` of /checkout/v2/pay
SETUP_ORDER_DEFAULT_VALIDITY_MS = 10 * 60 * 1000  # `expireAt` of a /subscriptions/v2/setup order
SUBSCRIPTION_DEFAULT_YEARS = 30  # `expireAt` of the mandate itself


def as_dict(value: Any) -> dict[str, Any]:
    """A JSON object from a request body, or an empty one for anything else (tolerant parsing)."""
    return value if isinstance(value, dict) else {}


def gateway_id(prefix: str) -> str:
    return prefix + secrets.token_hex(10).upper()


@dataclass
class SimOrder:
    merchant_order_id: str
    order_id: str
    amount: int
    expire_at_ms: int
    redirect_url: str
    meta_info: dict | None
    flow_type: str = FLOW_PG
    merchant_subscription_id: str = ""
    state: str = "PENDING"
    recorded_amount: int | None = None  # what the gateway "captured" (differs only when a test says so)
    payment_details: list = field(default_factory=list)
    refunded_total: int = 0
    # Redemption orders only.
    auto_debit: bool = False
    retry_strategy: str = "STANDARD"
    notified_at_ms: int | None = None
    valid_after_ms: int | None = None


@dataclass
class SimRefund:
    merchant_refund_id: str
    refund_id: str
    original_merchant_order_id: str
    amount: int
    timestamp_ms: int
    state: str = "PENDING"


@dataclass
class SimSubscription:
    merchant_subscription_id: str
    subscription_id: str
    setup_order_id: str  # our merchantOrderId of the setup order
    auth_workflow_type: str
    amount_type: str
    max_amount: int
    frequency: str
    expire_at_ms: int
    state: str = "ACTIVATION_IN_PROGRESS"
    pause_start_ms: int | None = None
    pause_end_ms: int | None = None
    failing_debits: int = 0  # the next N debits fail (control endpoint)


class SimulatorState:
    def __init__(self, **config: Any):
        self.lock = threading.RLock()
        self.config = config
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.clock_offset_ms = 0
            self.tokens: dict[str, int] = {}
            self.orders: dict[str, SimOrder] = {}
            self.orders_by_gateway_id: dict[str, str] = {}
            self.refunds: dict[str, SimRefund] = {}
            self.subscriptions: dict[str, SimSubscription] = {}
            self.webhooks: list[dict[str, Any]] = []
            self.requests: list[dict[str, str]] = []
            self.faults: dict[str, list[int]] = {}

    # --- clock ------------------------------------------------------------------
    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    def advance(self, seconds: float) -> int:
        """Move the simulator's clock forward (never back: PhonePe's time does not rewind)."""
        with self.lock:
            self.clock_offset_ms += max(int(seconds * 1000), 0)
            return self.now_ms()

    # --- lookups ------------------------------------------------------------------
    def add_order(self, order: SimOrder) -> None:
        self.orders[order.merchant_order_id] = order
        self.orders_by_gateway_id[order.order_id] = order.merchant_order_id

    def order_by_transaction(self, transaction_id: str) -> SimOrder | None:
        for order in self.orders.values():
            if any(attempt["transactionId"] == transaction_id for attempt in order.payment_details):
                return order
        return None

    def subscription_of(self, order: SimOrder) -> SimSubscription | None:
        return self.subscriptions.get(order.merchant_subscription_id) if order.merchant_subscription_id else None
