"""UPI Autopay as the simulator plays it: subscriptions, their setup, pre-debit notifications,
debits (manual `redeem` or automatic), user-side revocation and expiry.

Pure functions over `SimulatorState`; the caller holds `state.lock` and sends the
returned callback bodies after releasing it. Rules enforced, as PhonePe does:

* a notification only for an ACTIVE subscription, an amount within `maxAmount` (equal to it
  for FIXED), and a `merchantOrderId` never used before;
* a debit no earlier than 24 h after its notification and no later than the
  notification's expiry (default 48 h), on the simulator's movable clock;
* a subscription past its `expireAt` is EXPIRED; a terminal subscription never comes back.
"""

from datetime import UTC, datetime

from payments.phonepe.simulator.orders import callback_body, order_view, record_attempt
from payments.phonepe.simulator.state import (
    AMOUNT_TYPES,
    AUTH_WORKFLOWS,
    FLOW_CHECKOUT_SETUP,
    FREQUENCIES,
    MERCHANT_ID_PATTERN,
    NOTIFY_DEFAULT_VALIDITY_MS,
    NOTIFY_TO_DEBIT_MS,
    PENNY_DROP_AMOUNT,
    REDEMPTION_FLOWS,
    SUBSCRIPTION_DEFAULT_YEARS,
    SimOrder,
    SimSubscription,
    SimulatorState,
    as_dict,
    gateway_id,
)

TERMINAL_STATES = {"CANCELLED", "REVOKED", "EXPIRED", "FAILED"}
# Control actions and the API cancel: (states it applies to, new state, event sent).
STATE_CHANGES = {
    "pause": ({"ACTIVE"}, "PAUSED", "subscription.paused"),
    "unpause": ({"PAUSED"}, "ACTIVE", "subscription.unpaused"),
    "revoke": ({"ACTIVE", "PAUSED"}, "REVOKED", "subscription.revoked"),
    "cancel": ({"ACTIVE", "PAUSED", "ACTIVATION_IN_PROGRESS"}, "CANCELLED", "subscription.cancelled"),
    "expire": ({"ACTIVE", "PAUSED"}, "EXPIRED", None),
}

Result = tuple[int, dict, list[dict]]


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def future_ms_problem(value, field: str, now_ms: int) -> str | None:
    """An optional epoch-ms field: absent (or null, as PhonePe's SDK sends it) is fine, else it must be future."""
    if value is None:
        return None
    given = _int(value)
    if given is None or given <= now_ms:
        return f"{field} must be a future epoch in milliseconds"
    return None


def years_later_ms(now_ms: int, years: int) -> int:
    """The same calendar moment `years` later (29 February becomes the 28th in a non-leap year)."""
    moment = datetime.fromtimestamp(now_ms / 1000, UTC)
    try:
        later = moment.replace(year=moment.year + years)
    except ValueError:
        later = moment.replace(year=moment.year + years, day=28)
    return int(later.timestamp() * 1000)


def subscription_problems(state: SimulatorState, details: dict, *, setup_amount) -> list[str]:
    """What is wrong with a setup's subscription details (empty when it is acceptable)."""
    problems = []
    msid = details.get("merchantSubscriptionId")
    if not isinstance(msid, str) or not MERCHANT_ID_PATTERN.match(msid):
        problems.append("merchantSubscriptionId must be 1-63 characters of [A-Za-z0-9_-]")
    elif msid in state.subscriptions:
        problems.append("merchantSubscriptionId already used")
    workflow = details.get("authWorkflowType")
    if workflow not in AUTH_WORKFLOWS:
        problems.append("authWorkflowType must be TRANSACTION or PENNY_DROP")
    if workflow == "PENNY_DROP" and setup_amount != PENNY_DROP_AMOUNT:
        problems.append("a PENNY_DROP setup charges exactly 200 paise")
    if details.get("amountType") not in AMOUNT_TYPES:
        problems.append("amountType must be FIXED or VARIABLE")
    max_amount = _int(details.get("maxAmount"))
    if max_amount is None or max_amount < 100:
        problems.append("maxAmount must be an integer >= 100 (paise)")
    elif workflow == "TRANSACTION" and isinstance(setup_amount, int) and setup_amount > max_amount:
        problems.append("the setup amount exceeds maxAmount")
    if details.get("frequency") not in FREQUENCIES:
        problems.append("frequency is not one PhonePe knows")
    # Optional: a mandate without an end date lasts PhonePe's default of 30 years (subscription_create).
    if problem := future_ms_problem(details.get("expireAt"), "expireAt", state.now_ms()):
        problems.append(problem)
    return problems


def subscription_create(state: SimulatorState, details: dict, *, setup_order_id: str) -> SimSubscription:
    subscription = SimSubscription(
        merchant_subscription_id=details["merchantSubscriptionId"],
        subscription_id=gateway_id("OMS"),
        setup_order_id=setup_order_id,
        auth_workflow_type=details["authWorkflowType"],
        amount_type=details["amountType"],
        max_amount=details["maxAmount"],
        frequency=details["frequency"],
        expire_at_ms=_int(details.get("expireAt")) or years_later_ms(state.now_ms(), SUBSCRIPTION_DEFAULT_YEARS),
    )
    state.subscriptions[subscription.merchant_subscription_id] = subscription
    return subscription


def subscription_view(state: SimulatorState, subscription: SimSubscription) -> dict:
    return {
        "merchantId": state.config["merchant_id"],
        "merchantSubscriptionId": subscription.merchant_subscription_id,
        "subscriptionId": subscription.subscription_id,
        "state": subscription.state,
        "authWorkflowType": subscription.auth_workflow_type,
        "amountType": subscription.amount_type,
        "maxAmount": subscription.max_amount,
        "frequency": subscription.frequency,
        "expireAt": subscription.expire_at_ms,
        "pauseStartDate": subscription.pause_start_ms,
        "pauseEndDate": subscription.pause_end_ms,
        "productType": "UPI_MANDATE",
        "authInstrumentType": "UPI",
        "currency": "INR",
    }


def subscription_event(state: SimulatorState, subscription: SimSubscription, event: str) -> dict:
    return callback_body(event, subscription_view(state, subscription))


def setup_settle(state: SimulatorState, order: SimOrder, outcome: str, amount: int | None = None) -> list[dict]:
    """The user approved (COMPLETED) or declined (FAILED) the mandate on the checkout page."""
    record_attempt(state, order, outcome, amount)
    subscription = state.subscription_of(order)
    if subscription is not None and subscription.state == "ACTIVATION_IN_PROGRESS":
        subscription.state = "ACTIVE" if outcome == "COMPLETED" else "FAILED"
    suffix = "completed" if outcome == "COMPLETED" else "failed"
    callbacks = []
    if order.flow_type == FLOW_CHECKOUT_SETUP:
        callbacks.append(callback_body(f"checkout.order.{suffix}", order_view(state, order)))
    callbacks.append(callback_body(f"subscription.setup.order.{suffix}", order_view(state, order)))
    return callbacks


def subscription_change(state: SimulatorState, subscription: SimSubscription, action: str) -> Result:
    allowed_from, new_state, event = STATE_CHANGES[action]
    if subscription.state not in allowed_from:
        return 409, {"code": "INVALID_SUBSCRIPTION_STATE", "message": f"Subscription is {subscription.state}"}, []
    subscription.state = new_state
    if action == "pause":
        subscription.pause_start_ms = state.now_ms()
    if action == "unpause":
        subscription.pause_end_ms = state.now_ms()
    callbacks = [subscription_event(state, subscription, event)] if event else []
    return 200, subscription_view(state, subscription), callbacks


def notify(state: SimulatorState, body: dict) -> Result:
    """`POST /subscriptions/v2/notify` (or the checkout variant): the pre-debit notification."""
    flow = as_dict(body.get("paymentFlow"))
    merchant_order_id = body.get("merchantOrderId")
    amount = _int(body.get("amount"))
    problems = []
    if not isinstance(merchant_order_id, str) or not MERCHANT_ID_PATTERN.match(merchant_order_id):
        problems.append("merchantOrderId must be 1-63 characters of [A-Za-z0-9_-]")
    if flow.get("type") not in REDEMPTION_FLOWS:
        problems.append("paymentFlow.type must be SUBSCRIPTION_REDEMPTION")
    if flow.get("redemptionRetryStrategy") not in (None, "STANDARD", "CUSTOM"):
        problems.append("redemptionRetryStrategy must be STANDARD or CUSTOM")
    subscription = state.subscriptions.get(str(flow.get("merchantSubscriptionId") or ""))
    if subscription is None:
        return 404, {"code": "SUBSCRIPTION_NOT_FOUND", "message": "No such subscription"}, []
    if problem := future_ms_problem(body.get("expireAt"), "expireAt", state.now_ms()):
        problems.append(problem)
    if amount is None or amount < 100 or amount > subscription.max_amount:
        problems.append("amount must be an integer between 100 and maxAmount (paise)")
    elif subscription.amount_type == "FIXED" and amount != subscription.max_amount:
        problems.append("a FIXED subscription is debited exactly maxAmount")
    if problems or not isinstance(merchant_order_id, str) or amount is None:
        return 400, {"code": "BAD_REQUEST", "message": "; ".join(problems), "data": {}}, []
    if merchant_order_id in state.orders:
        return state.config["duplicate_order_status"], {"code": "DUPLICATE_ORDER", "message": "already used"}, []
    if subscription.state != "ACTIVE":
        return 400, {"code": "SUBSCRIPTION_NOT_ACTIVE", "message": f"Subscription is {subscription.state}"}, []
    now = state.now_ms()
    expire_at = _int(body.get("expireAt")) or now + NOTIFY_DEFAULT_VALIDITY_MS
    order = SimOrder(
        merchant_order_id=merchant_order_id,
        order_id=gateway_id("OMO"),
        amount=amount,
        expire_at_ms=expire_at,
        redirect_url="",
        meta_info=body.get("metaInfo") if isinstance(body.get("metaInfo"), dict) else None,
        flow_type=flow["type"],
        merchant_subscription_id=subscription.merchant_subscription_id,
        state="NOTIFIED",
        auto_debit=bool(flow.get("autoDebit")),
        retry_strategy=str(flow.get("redemptionRetryStrategy") or "STANDARD"),
        notified_at_ms=now,
        valid_after_ms=now + NOTIFY_TO_DEBIT_MS,
    )
    state.add_order(order)
    callback = callback_body("subscription.notification.completed", order_view(state, order))
    return 200, {"orderId": order.order_id, "state": "NOTIFIED", "expireAt": order.expire_at_ms}, [callback]


def debit(state: SimulatorState, order: SimOrder) -> list[dict]:
    """Take the money (or fail, when a test asked the next debit to fail)."""
    subscription = state.subscription_of(order)
    fails = subscription is None or subscription.state != "ACTIVE" or subscription.failing_debits > 0
    if subscription is not None and subscription.state == "ACTIVE" and subscription.failing_debits > 0:
        subscription.failing_debits -= 1
    outcome = "FAILED" if fails else "COMPLETED"
    record_attempt(state, order, outcome)
    suffix = outcome.lower()
    view = order_view(state, order)
    return [
        callback_body(f"subscription.redemption.transaction.{suffix}", view),
        callback_body(f"subscription.redemption.order.{suffix}", view),
    ]


def redeem(state: SimulatorState, merchant_order_id) -> Result:
    """`POST /subscriptions/v2/redeem`: execute a notified debit."""
    order = state.orders.get(str(merchant_order_id or ""))
    if order is None or order.flow_type not in REDEMPTION_FLOWS:
        return 404, {"code": "ORDER_NOT_FOUND", "message": "No notified redemption with this id"}, []
    now = state.now_ms()
    if order.state != "NOTIFIED":
        return 409, {"code": "INVALID_ORDER_STATE", "message": f"Order is {order.state}"}, []
    if order.valid_after_ms is not None and now < order.valid_after_ms:
        return 400, {"code": "REDEMPTION_TOO_EARLY", "message": "A debit waits 24 h after its notification"}, []
    if now > order.expire_at_ms:
        order.state = "FAILED"
        return 400, {"code": "REDEMPTION_EXPIRED", "message": "The notification has expired"}, []
    callbacks = debit(state, order)
    transaction_id = order.payment_details[-1]["transactionId"]
    return 200, {"transactionId": transaction_id, "state": order.state}, callbacks


def run_due(state: SimulatorState) -> list[dict]:
    """What PhonePe does by itself as time passes: auto-debits, lapsed notifications, expired mandates."""
    now = state.now_ms()
    callbacks: list[dict] = []
    for order in list(state.orders.values()):
        if order.flow_type not in REDEMPTION_FLOWS or order.state != "NOTIFIED":
            continue
        if order.auto_debit and order.valid_after_ms is not None and order.valid_after_ms <= now <= order.expire_at_ms:
            callbacks.extend(debit(state, order))
        elif now > order.expire_at_ms:
            order.state = "FAILED"
            callbacks.append(callback_body("subscription.redemption.order.failed", order_view(state, order)))
    for subscription in state.subscriptions.values():
        if subscription.state in ("ACTIVE", "PAUSED") and subscription.expire_at_ms <= now:
            subscription.state = "EXPIRED"
    return callbacks
