"""A typed client for PhonePe Standard Checkout v2 on `requests` (docs/phonepe.md §2-§5, §8, §11).

* OAuth client-credentials token, cached in the Django cache (shared by every app
  instance) until its half-life (docs/phonepe.md §3); on a 401 the token is dropped,
  fetched again and the call retried once (§11.4).
* Timeouts on every call. Retries only for transient failures, bounded: GETs and the
  token call on connection errors, 5xx and 429; the non-idempotent POSTs (pay, refund)
  are re-sent with the same id only after the status API says the order/refund does
  not exist (§11.6).
* Nothing secret is logged: no credentials, tokens, Authorization headers or payer details.
"""

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger("manas360.payments.phonepe")

TOKEN_PATH = "/v1/oauth/token"  # noqa: S105 - a URL path, not a secret
PAY_PATH = "/checkout/v2/pay"
ORDER_STATUS_PATH = "/checkout/v2/order/{merchant_order_id}/status"
REFUND_PATH = "/payments/v2/refund"
REFUND_STATUS_PATH = "/payments/v2/refund/{merchant_refund_id}/status"


class PhonePeError(Exception):
    """Base class. `transient` means a retry later may succeed."""

    transient = False

    def __init__(self, message: str, *, status_code: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code


class PhonePeUnavailable(PhonePeError):
    """Connection failure, timeout, 5xx or 429 that outlived our bounded retries."""

    transient = True


class PhonePeRejected(PhonePeError):
    """A 4xx answer: our request or credentials are wrong; retrying will not help."""


class PhonePeNotFound(PhonePeRejected):
    pass


@dataclass(frozen=True)
class CreatedOrder:
    order_id: str
    state: str
    expire_at_ms: int | None
    redirect_url: str


@dataclass(frozen=True)
class OrderStatus:
    merchant_order_id: str
    order_id: str
    state: str
    amount: int | None
    expire_at_ms: int | None
    payment_mode: str = ""
    transaction_id: str = ""
    error_code: str = ""


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    amount: int | None
    state: str


@dataclass(frozen=True)
class RefundStatus:
    merchant_refund_id: str
    original_merchant_order_id: str
    refund_id: str
    amount: int | None
    state: str
    error_code: str = ""


@dataclass
class PhonePeConfig:
    client_id: str
    client_secret: str = field(repr=False)
    client_version: str
    pg_base_url: str
    oauth_base_url: str
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_retries: int = 2
    retry_backoff: float = 0.2

    @classmethod
    def from_settings(cls) -> "PhonePeConfig":
        return cls(
            client_id=settings.PHONEPE_CLIENT_ID,
            client_secret=settings.PHONEPE_CLIENT_SECRET,
            client_version=str(settings.PHONEPE_CLIENT_VERSION),
            pg_base_url=settings.PHONEPE_PG_BASE_URL.rstrip("/"),
            oauth_base_url=settings.PHONEPE_OAUTH_BASE_URL.rstrip("/"),
            connect_timeout=settings.PHONEPE_CONNECT_TIMEOUT_SECONDS,
            read_timeout=settings.PHONEPE_READ_TIMEOUT_SECONDS,
            max_retries=settings.PHONEPE_MAX_RETRIES,
        )


def _int_or_none(value: object) -> int | None:
    """An integer from the gateway (paise, epoch ms); anything else, a fractional amount included, is None.

    None never matches our amount, so a malformed amount is treated as a mismatch, never truncated into a match.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


class PhonePeClient:
    def __init__(self, config: PhonePeConfig | None = None, *, session: requests.Session | None = None) -> None:
        self.config = config or PhonePeConfig.from_settings()
        self.session = session or requests.Session()
        # The simulator and PhonePe are reached directly; a proxy from the environment must not see tokens.
        self.session.trust_env = False
        identity = f"{self.config.client_id}|{self.config.oauth_base_url}"
        self._token_cache_key = "phonepe:token:" + hashlib.sha256(identity.encode()).hexdigest()[:24]

    # --- token (docs/phonepe.md §3) ---------------------------------------------
    def _fetch_token(self) -> dict[str, Any]:
        response = self._send(
            "POST",
            self.config.oauth_base_url + TOKEN_PATH,
            operation="token",
            retry_transient=True,
            data={
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret,
                "client_version": self.config.client_version,
                "grant_type": "client_credentials",
            },
            headers={"Accept": "application/json"},
        )
        body = self._json(response)
        token = body.get("access_token")
        if not token:
            raise PhonePeRejected("PhonePe token response carried no access_token.", status_code=response.status_code)
        now = int(time.time())
        issued_at = _int_or_none(body.get("issued_at")) or now
        expires_at = _int_or_none(body.get("expires_at")) or (now + 300)
        # Stale at half-life, like the SDK; never cache past expiry.
        refresh_at = issued_at + max((expires_at - issued_at) // 2, 1)
        entry = {
            "authorization": f"{body.get('token_type') or 'O-Bearer'} {token}",
            "refresh_at": refresh_at,
            "expires_at": expires_at,
        }
        timeout = max(expires_at - now, 1)
        cache.set(self._token_cache_key, entry, timeout=timeout)
        logger.info("phonepe token fetched", extra={"expires_at": expires_at})
        return entry

    def _authorization(self) -> str:
        entry = cache.get(self._token_cache_key)
        if not entry or entry.get("refresh_at", 0) <= time.time():
            entry = self._fetch_token()
        return str(entry["authorization"])

    def invalidate_token(self) -> None:
        cache.delete(self._token_cache_key)

    # --- transport ---------------------------------------------------------
    def _send(
        self, method: str, url: str, *, operation: str, retry_transient: bool, **kwargs: Any
    ) -> requests.Response:
        attempts = 1 + (self.config.max_retries if retry_transient else 0)
        last_error: PhonePeError | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.config.retry_backoff * (2 ** (attempt - 1)))
            try:
                response = self.session.request(
                    method, url, timeout=(self.config.connect_timeout, self.config.read_timeout), **kwargs
                )
            except requests.RequestException as exc:
                last_error = PhonePeUnavailable(f"PhonePe {operation} unreachable: {type(exc).__name__}")
                logger.warning("phonepe call failed", extra={"operation": operation, "error_class": type(exc).__name__})
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last_error = PhonePeUnavailable(
                    f"PhonePe {operation} answered {response.status_code}", status_code=response.status_code
                )
                logger.warning("phonepe call failed", extra={"operation": operation, "status": response.status_code})
                continue
            return response
        assert last_error is not None
        raise last_error

    def _api(self, method: str, path: str, *, operation: str, retry_transient: bool, **kwargs: Any) -> dict[str, Any]:
        url = self.config.pg_base_url + path
        for attempt in range(2):
            headers = {"Authorization": self._authorization(), "Accept": "application/json"}
            if "json" in kwargs:
                headers["Content-Type"] = "application/json"
            response = self._send(
                method, url, operation=operation, retry_transient=retry_transient, headers=headers, **kwargs
            )
            if response.status_code == 401 and attempt == 0:
                # docs/phonepe.md §11.4: refresh, then retry once.
                self.invalidate_token()
                continue
            break
        if response.status_code == 404:
            raise PhonePeNotFound(f"PhonePe {operation}: not found", status_code=404)
        if response.status_code >= 400:
            code = ""
            try:
                body = response.json()
                code = str(body.get("code") or body.get("errorCode") or "")
            except ValueError:
                pass
            logger.error(
                "phonepe request rejected", extra={"operation": operation, "status": response.status_code, "code": code}
            )
            raise PhonePeRejected(
                f"PhonePe {operation} rejected ({response.status_code})", status_code=response.status_code, code=code
            )
        return self._json(response)

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        if response.status_code < 300 and not response.content:
            return {}  # an empty 2xx is a valid answer (subscription cancel)
        try:
            body = response.json()
        except ValueError as exc:
            raise PhonePeUnavailable("PhonePe answered a non-JSON body.", status_code=response.status_code) from exc
        if response.status_code >= 400 and not isinstance(body, dict):
            raise PhonePeRejected("PhonePe error", status_code=response.status_code)
        if response.status_code in (400, 401, 403):
            raise PhonePeRejected(
                f"PhonePe rejected the request ({response.status_code})",
                status_code=response.status_code,
                code=str(body.get("code") or body.get("errorCode") or ""),
            )
        return body if isinstance(body, dict) else {}

    # --- API (docs/phonepe.md §4, §5) -------------------------------------------
    def create_order(
        self,
        *,
        merchant_order_id: str,
        amount_paise: int,
        redirect_url: str,
        expire_after_seconds: int | None = None,
        meta_info: dict[str, str] | None = None,
    ) -> CreatedOrder:
        """`POST /checkout/v2/pay`. Re-sent with the same id only if PhonePe has no such order (§11.6)."""
        body: dict[str, Any] = {
            "merchantOrderId": merchant_order_id,
            "amount": amount_paise,
            "expireAfter": expire_after_seconds,
            "metaInfo": meta_info or None,
            "paymentFlow": {"type": "PG_CHECKOUT", "message": None, "merchantUrls": {"redirectUrl": redirect_url}},
        }
        for attempt in range(1 + self.config.max_retries):
            try:
                data = self._api("POST", PAY_PATH, operation="pay", retry_transient=False, json=body)
                break
            except PhonePeUnavailable:
                if attempt == self.config.max_retries:
                    raise
                try:
                    self.get_order_status(merchant_order_id=merchant_order_id)
                except PhonePeNotFound:
                    continue  # PhonePe has no such order: safe to send again with the same id
                # The order exists but we never saw its checkout URL: the caller fails the
                # payment; a late COMPLETED is still honoured through the status API.
                raise
        else:  # pragma: no cover - the loop either breaks or raises
            raise PhonePeUnavailable("PhonePe pay failed")
        return CreatedOrder(
            order_id=str(data.get("orderId") or ""),
            state=str(data.get("state") or "PENDING"),
            expire_at_ms=_int_or_none(data.get("expireAt")),
            redirect_url=str(data.get("redirectUrl") or ""),
        )

    def get_order_status(self, *, merchant_order_id: str) -> OrderStatus:
        """`GET /checkout/v2/order/{merchantOrderId}/status`. Decide on the root `state` only (§4.2)."""
        data = self._api(
            "GET",
            ORDER_STATUS_PATH.format(merchant_order_id=merchant_order_id),
            operation="order_status",
            retry_transient=True,
            params={"details": "false"},
        )
        details = data.get("paymentDetails")
        details = details if isinstance(details, list) else []
        latest = details[-1] if details and isinstance(details[-1], dict) else {}
        return OrderStatus(
            merchant_order_id=str(data.get("merchantOrderId") or merchant_order_id),
            order_id=str(data.get("orderId") or ""),
            state=str(data.get("state") or "").upper(),
            amount=_int_or_none(data.get("amount")),
            expire_at_ms=_int_or_none(data.get("expireAt")),
            payment_mode=str(latest.get("paymentMode") or "")[:30],
            transaction_id=str(latest.get("transactionId") or ""),
            error_code=str(data.get("errorCode") or ""),
        )

    def refund(self, *, merchant_refund_id: str, original_merchant_order_id: str, amount_paise: int) -> RefundResult:
        """`POST /payments/v2/refund`. Re-sent with the same id only if PhonePe has no such refund (§5, §11.6)."""
        body = {
            "merchantRefundId": merchant_refund_id,
            "originalMerchantOrderId": original_merchant_order_id,
            "amount": amount_paise,
        }
        for attempt in range(1 + self.config.max_retries):
            try:
                data = self._api("POST", REFUND_PATH, operation="refund", retry_transient=False, json=body)
                break
            except PhonePeUnavailable:
                if attempt == self.config.max_retries:
                    raise
                try:
                    status = self.get_refund_status(merchant_refund_id=merchant_refund_id)
                except PhonePeNotFound:
                    continue
                return RefundResult(refund_id=status.refund_id, amount=status.amount, state=status.state)
        else:  # pragma: no cover
            raise PhonePeUnavailable("PhonePe refund failed")
        return RefundResult(
            refund_id=str(data.get("refundId") or ""),
            amount=_int_or_none(data.get("amount")),
            state=str(data.get("state") or "PENDING").upper(),
        )

    def get_refund_status(self, *, merchant_refund_id: str) -> RefundStatus:
        data = self._api(
            "GET",
            REFUND_STATUS_PATH.format(merchant_refund_id=merchant_refund_id),
            operation="refund_status",
            retry_transient=True,
        )
        return RefundStatus(
            merchant_refund_id=str(data.get("merchantRefundId") or merchant_refund_id),
            original_merchant_order_id=str(data.get("originalMerchantOrderId") or ""),
            refund_id=str(data.get("refundId") or ""),
            amount=_int_or_none(data.get("amount")),
            state=str(data.get("state") or "").upper(),
            error_code=str(data.get("errorCode") or ""),
        )


def get_client() -> PhonePeClient:
    """A client built from settings at call time (never at import: docs/phonepe.md §11.4)."""
    return PhonePeClient()
