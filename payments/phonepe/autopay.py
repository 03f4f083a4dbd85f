"""PhonePe Subscriptions v2 (UPI Autopay) calls, on top of the Standard Checkout client.

Same transport, token, timeouts and retry rules as `PhonePeClient`. The POSTs that move
money or state (setup, notify, redeem) are not idempotent at PhonePe, so after a
transient failure the client asks the status API before sending again, and a notify
whose `merchantOrderId` PhonePe already holds answers that order: a job that crashed
after notifying can run again and get the same notification back (docs/autopay.md).

Parsing is tolerant: enums stay plain strings (PhonePe adds values), unknown keys are ignored.
"""

from dataclasses import dataclass
from typing import Any

from payments.phonepe.client import (
    PAY_PATH,
    CreatedOrder,
    PhonePeClient,
    PhonePeNotFound,
    PhonePeRejected,
    PhonePeUnavailable,
    _int_or_none,
)

SETUP_PATH = "/subscriptions/v2/setup"
NOTIFY_PATH = "/subscriptions/v2/notify"
REDEEM_PATH = "/subscriptions/v2/redeem"
SUBSCRIPTION_STATUS_PATH = "/subscriptions/v2/{merchant_subscription_id}/status"
SUBSCRIPTION_ORDER_STATUS_PATH = "/subscriptions/v2/order/{merchant_order_id}/status"
CANCEL_PATH = "/subscriptions/v2/{merchant_subscription_id}/cancel"


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class SubscriptionStatus:
    merchant_subscription_id: str
    subscription_id: str
    state: str
    max_amount: int | None
    frequency: str
    expire_at_ms: int | None
    auth_workflow_type: str = ""
    amount_type: str = ""


@dataclass(frozen=True)
class SubscriptionOrderStatus:
    """A setup or redemption order. `state` is the root state: PENDING, NOTIFIED, COMPLETED, FAILED."""

    merchant_order_id: str
    order_id: str
    state: str
    amount: int | None
    merchant_subscription_id: str
    flow_type: str
    notified_at_ms: int | None = None
    valid_after_ms: int | None = None
    valid_upto_ms: int | None = None
    transaction_id: str = ""
    error_code: str = ""


@dataclass(frozen=True)
class SetupResult:
    order_id: str
    state: str
    expire_at_ms: int | None
    redirect_url: str
    intent_url: str


@dataclass(frozen=True)
class NotifyResult:
    order_id: str
    state: str
    expire_at_ms: int | None


@dataclass(frozen=True)
class RedeemResult:
    transaction_id: str
    state: str


def _subscription_details(
    *,
    merchant_subscription_id: str,
    max_amount_paise: int,
    frequency: str,
    expire_at_ms: int,
    auth_workflow_type: str,
    amount_type: str,
) -> dict[str, Any]:
    return {
        "merchantSubscriptionId": merchant_subscription_id,
        "authWorkflowType": auth_workflow_type,
        "amountType": amount_type,
        "maxAmount": max_amount_paise,
        "frequency": frequency,
        "expireAt": expire_at_ms,
    }


class AutopayClient(PhonePeClient):
    # --- setup --------------------------------------------------------------------
    def create_subscription_checkout(
        self,
        *,
        merchant_order_id: str,
        merchant_subscription_id: str,
        amount_paise: int,
        max_amount_paise: int,
        frequency: str,
        subscription_expire_at_ms: int,
        redirect_url: str,
        expire_after_seconds: int | None = None,
        meta_info: dict[str, str] | None = None,
        auth_workflow_type: str = "TRANSACTION",
        amount_type: str = "FIXED",
    ) -> CreatedOrder:
        """Autopay set up on PhonePe's web checkout page; with TRANSACTION the setup amount is the first debit."""
        body = {
            "merchantOrderId": merchant_order_id,
            "amount": amount_paise,
            "expireAfter": expire_after_seconds,
            "metaInfo": meta_info or None,
            "paymentFlow": {
                "type": "SUBSCRIPTION_CHECKOUT_SETUP",
                "message": None,
                "merchantUrls": {"redirectUrl": redirect_url, "cancelRedirectUrl": redirect_url},
                "subscriptionDetails": {
                    "subscriptionType": "RECURRING",
                    **_subscription_details(
                        merchant_subscription_id=merchant_subscription_id,
                        max_amount_paise=max_amount_paise,
                        frequency=frequency,
                        expire_at_ms=subscription_expire_at_ms,
                        auth_workflow_type=auth_workflow_type,
                        amount_type=amount_type,
                    ),
                },
            },
        }
        data = self._post_once(PAY_PATH, body, operation="subscription_checkout", merchant_order_id=merchant_order_id)
        return CreatedOrder(
            order_id=str(data.get("orderId") or ""),
            state=str(data.get("state") or "PENDING"),
            expire_at_ms=_int_or_none(data.get("expireAt")),
            redirect_url=str(data.get("redirectUrl") or ""),
        )

    def setup_subscription(
        self,
        *,
        merchant_order_id: str,
        merchant_subscription_id: str,
        amount_paise: int,
        max_amount_paise: int,
        frequency: str,
        subscription_expire_at_ms: int,
        order_expire_at_ms: int,
        vpa: str | None = None,
        target_app: str | None = None,
        auth_workflow_type: str = "TRANSACTION",
        amount_type: str = "FIXED",
    ) -> SetupResult:
        """The API/intent setup (`/subscriptions/v2/setup`): UPI collect to a VPA, else a UPI intent."""
        mode: dict[str, Any] = (
            {"type": "UPI_COLLECT", "details": {"type": "VPA", "vpa": vpa}, "message": None}
            if vpa
            else {"type": "UPI_INTENT", "targetApp": target_app}
        )
        body = {
            "merchantOrderId": merchant_order_id,
            "amount": amount_paise,
            "expireAt": order_expire_at_ms,
            "metaInfo": None,
            "paymentFlow": {
                "type": "SUBSCRIPTION_SETUP",
                "paymentMode": mode,
                **_subscription_details(
                    merchant_subscription_id=merchant_subscription_id,
                    max_amount_paise=max_amount_paise,
                    frequency=frequency,
                    expire_at_ms=subscription_expire_at_ms,
                    auth_workflow_type=auth_workflow_type,
                    amount_type=amount_type,
                ),
            },
            "deviceContext": {"deviceOS": "ANDROID"},
        }
        data = self._post_once(SETUP_PATH, body, operation="subscription_setup", merchant_order_id=merchant_order_id)
        return SetupResult(
            order_id=str(data.get("orderId") or ""),
            state=str(data.get("state") or "PENDING").upper(),
            expire_at_ms=_int_or_none(data.get("expireAt")),
            redirect_url=str(data.get("redirectUrl") or ""),
            intent_url=str(data.get("intentUrl") or ""),
        )

    def _post_once(self, path: str, body: dict[str, Any], *, operation: str, merchant_order_id: str) -> dict[str, Any]:
        """A non-idempotent POST, re-sent with the same id only if PhonePe has no such order."""
        for attempt in range(1 + self.config.max_retries):
            try:
                return self._api("POST", path, operation=operation, retry_transient=False, json=body)
            except PhonePeUnavailable:
                if attempt == self.config.max_retries:
                    raise
                try:
                    self.get_subscription_order_status(merchant_order_id=merchant_order_id)
                except PhonePeNotFound:
                    continue
                raise
        raise PhonePeUnavailable(f"PhonePe {operation} failed")  # pragma: no cover - the loop returns or raises

    # --- status --------------------------------------------------------------------
    def get_subscription_status(self, *, merchant_subscription_id: str) -> SubscriptionStatus:
        data = self._api(
            "GET",
            SUBSCRIPTION_STATUS_PATH.format(merchant_subscription_id=merchant_subscription_id),
            operation="subscription_status",
            retry_transient=True,
        )
        return SubscriptionStatus(
            merchant_subscription_id=str(data.get("merchantSubscriptionId") or merchant_subscription_id),
            subscription_id=str(data.get("subscriptionId") or ""),
            state=str(data.get("state") or "").upper(),
            max_amount=_int_or_none(data.get("maxAmount")),
            frequency=str(data.get("frequency") or ""),
            expire_at_ms=_int_or_none(data.get("expireAt")),
            auth_workflow_type=str(data.get("authWorkflowType") or ""),
            amount_type=str(data.get("amountType") or ""),
        )

    def get_subscription_order_status(self, *, merchant_order_id: str) -> SubscriptionOrderStatus:
        data = self._api(
            "GET",
            SUBSCRIPTION_ORDER_STATUS_PATH.format(merchant_order_id=merchant_order_id),
            operation="subscription_order_status",
            retry_transient=True,
            params={"details": "false"},
        )
        flow = as_dict(data.get("paymentFlow"))
        details = data.get("paymentDetails") if isinstance(data.get("paymentDetails"), list) else []
        latest = details[-1] if details and isinstance(details[-1], dict) else {}
        return SubscriptionOrderStatus(
            merchant_order_id=str(data.get("merchantOrderId") or merchant_order_id),
            order_id=str(data.get("orderId") or ""),
            state=str(data.get("state") or "").upper(),
            amount=_int_or_none(data.get("amount")),
            merchant_subscription_id=str(flow.get("merchantSubscriptionId") or ""),
            flow_type=str(flow.get("type") or ""),
            notified_at_ms=_int_or_none(flow.get("notifiedAt")),
            valid_after_ms=_int_or_none(flow.get("validAfter")),
            valid_upto_ms=_int_or_none(flow.get("validUpto")),
            transaction_id=str(latest.get("transactionId") or ""),
            error_code=str(data.get("errorCode") or ""),
        )

    # --- each cycle ------------------------------------------------------------------
    def notify_redemption(
        self,
        *,
        merchant_order_id: str,
        merchant_subscription_id: str,
        amount_paise: int,
        auto_debit: bool = False,
        expire_at_ms: int | None = None,
    ) -> NotifyResult:
        """The pre-debit notification. Safe to repeat with the same `merchant_order_id`."""
        body = {
            "merchantOrderId": merchant_order_id,
            "amount": amount_paise,
            "expireAt": expire_at_ms,
            "paymentFlow": {
                "type": "SUBSCRIPTION_REDEMPTION",
                "merchantSubscriptionId": merchant_subscription_id,
                "redemptionRetryStrategy": "STANDARD",
                "autoDebit": auto_debit,
            },
        }
        try:
            data = self._api("POST", NOTIFY_PATH, operation="notify", retry_transient=False, json=body)
        except (PhonePeUnavailable, PhonePeRejected) as exc:
            existing = self._order_after_failed_post(exc, merchant_order_id)
            if existing is None:
                if isinstance(exc, PhonePeUnavailable):
                    data = self._api("POST", NOTIFY_PATH, operation="notify", retry_transient=False, json=body)
                    return self._notify_result(data)
                raise
            return NotifyResult(order_id=existing.order_id, state=existing.state, expire_at_ms=existing.valid_upto_ms)
        return self._notify_result(data)

    @staticmethod
    def _notify_result(data: dict[str, Any]) -> NotifyResult:
        return NotifyResult(
            order_id=str(data.get("orderId") or ""),
            state=str(data.get("state") or "").upper(),
            expire_at_ms=_int_or_none(data.get("expireAt")),
        )

    def _order_after_failed_post(
        self, exc: PhonePeUnavailable | PhonePeRejected, merchant_order_id: str
    ) -> SubscriptionOrderStatus | None:
        """After a notify or redeem that timed out or was refused as a duplicate (409): the order PhonePe
        holds, None if it holds none. Any other refusal is raised again."""
        if isinstance(exc, PhonePeRejected) and exc.status_code != 409:
            raise exc
        try:
            return self.get_subscription_order_status(merchant_order_id=merchant_order_id)
        except PhonePeNotFound:
            return None

    def redeem(self, *, merchant_order_id: str) -> RedeemResult:
        """Execute a notified debit. After a lost answer, the order's state says whether it went through."""
        try:
            data = self._api(
                "POST",
                REDEEM_PATH,
                operation="redeem",
                retry_transient=False,
                json={"merchantOrderId": merchant_order_id},
            )
        except (PhonePeUnavailable, PhonePeRejected) as exc:
            existing = self._order_after_failed_post(exc, merchant_order_id)
            if existing is None or existing.state == "NOTIFIED":
                raise
            return RedeemResult(transaction_id=existing.transaction_id, state=existing.state)
        return RedeemResult(
            transaction_id=str(data.get("transactionId") or ""), state=str(data.get("state") or "").upper()
        )

    def cancel_subscription(self, *, merchant_subscription_id: str) -> None:
        """Cancel at PhonePe (empty answer); the new state is read back with the status API."""
        self._api(
            "POST",
            CANCEL_PATH.format(merchant_subscription_id=merchant_subscription_id),
            operation="subscription_cancel",
            retry_transient=False,
        )


def get_autopay_client() -> AutopayClient:
    """Built from settings at call time, never at import."""
    return AutopayClient()
