"""What a payment buys, without payments knowing what it sells (docs/payments.md, "Fulfilment registry").

Payments keeps the billing view (payments, refunds); the app that owns a product keeps the entitlement view.
Each such app registers one `Product` from its `AppConfig.ready()`:

    from payments.fulfilment import register
    register(PlanProduct())

A payment stores `product` (the registry key) and `product_ref` (the product's own reference, e.g. a plan
code or, later, a booking id). Payments then asks the product, never the other way round:

* `offer(user, ref)` before the order is created: the price, or an application error (unknown, refused);
* `fulfil(payment, now)` inside the transaction that marks the payment successful: grant or extend what
  was bought, or refuse with a reason the user can read (payments then refunds the payment in full);
* `revoke(payment, now)` inside the transaction that completes a refund: take back what that payment bought;
* `refund_preview(payment, now)`: what `revoke` would take back, in words, for staff before they confirm a refund;
* `describe(payment)`: extra read-only fields of the payment API (e.g. `subscription`), helped by
  `prefetch()`: lookups payments' list queries apply so that describing a page costs one query, not one a row.

No signals: the calls are explicit, in the caller's transaction, and a missing registration fails loudly.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Prefetch

if TYPE_CHECKING:
    from accounts.models import User
    from payments.models import Payment

# The product `POST /payments/create {planId}` buys (the API contract names plans there).
PLAN_PRODUCT = "subscription_plan"


@dataclass(frozen=True)
class Offer:
    """A priced product reference, as a payment records it."""

    product: str
    ref: str  # canonical reference (a plan's code, not its alias or UUID)
    amount_paise: int
    currency: str
    label: str
    # Denormalised plan row for the API's `planId`/`planName` and staff reports; other products leave it None.
    plan: Any = None


@dataclass(frozen=True)
class Fulfilment:
    granted: bool
    reason: str = ""  # shown to the user on the payment when refused

    @classmethod
    def refused(cls, reason: str) -> "Fulfilment":
        return cls(granted=False, reason=reason)


GRANTED = Fulfilment(granted=True)


@dataclass(frozen=True)
class RefundPreview:
    """What refunding a payment takes back, for people (the admin's refund confirmation page)."""

    summary: str
    entitlements: tuple[str, ...] = ()


class Product(Protocol):
    key: str

    def offer(self, *, user: "User | None", ref: str) -> Offer: ...

    def fulfil(self, *, payment: "Payment", now: datetime) -> Fulfilment: ...

    def revoke(self, *, payment: "Payment", now: datetime) -> None: ...

    def refund_preview(self, *, payment: "Payment", now: datetime) -> RefundPreview: ...

    def describe(self, *, payment: "Payment") -> dict[str, Any]: ...

    def prefetch(self) -> "list[Prefetch[Any]]": ...


_products: dict[str, Product] = {}


def register(product: Product) -> None:
    """Register the product sold under `product.key`; registering the same key twice is a wiring error."""
    existing = _products.get(product.key)
    if existing is not None and type(existing) is not type(product):
        raise ImproperlyConfigured(f"Product {product.key!r} is already registered by {type(existing).__name__}.")
    _products[product.key] = product


def products_prefetch() -> "list[Prefetch[Any]]":
    """Every registered product's prefetch lookups, for querysets of payments."""
    return [lookup for product in _products.values() for lookup in product.prefetch()]


def product_for(key: str) -> Product:
    try:
        return _products[key]
    except KeyError:
        raise ImproperlyConfigured(
            f"No product {key!r} is registered (register it from its app's AppConfig.ready())."
        ) from None
