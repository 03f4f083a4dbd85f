"""What a payment buys, without payments knowing what it sells (docs/payments.md, "Fulfilment registry").

Payments keeps the billing view (payments, refunds); the app that owns a product keeps the entitlement view.
Each such app registers one `Product` from its `AppConfig.ready()`:

    from payments.fulfilment import register
    register(PlanProduct())

A payment stores `product` (the registry key) and `product_ref` (the product's own reference, e.g. a plan
code or, later, a booking id). Payments then asks the product, never the other way round:

* `offer(user, ref)` before the order is created: the price, or an application error (unknown, refused);
* `fulfil(payment, now)` inside the transaction that marks the payment successful: grant or extend what
  was bought, or refuse with a reason the user can read (payments then refunds the payment in full); a
  grant that makes what other payments bought worthless may also decide their automatic refunds
  (`payments.services.refund_open_automatic`, e.g. time parked behind a lifetime plan);
* `revoke(payment, now)` inside the transaction that completes a refund: take back what that payment bought;
* `refund_preview(payment, now)`: what `revoke` would take back, in words, for staff before they confirm a refund;
* `describe(payment)`: extra read-only fields of the payment API (e.g. `subscription`), helped by
  `prefetch()`: lookups payments' list queries apply so that describing a page costs one query, not one a row;
* `labels(refs)`: the id and name people see for each reference (a plan's code and name: the API's
  `planId`/`planName`, the admin's lists), for many references in one query (`payments_label`).

One product registers with `checkout=True`: the one `POST /payments/create {planId}` sells.
A payment holds no foreign key into a product's tables: the product's reference is all it keeps.

No signals: the calls are explicit, in the caller's transaction, and a missing registration fails loudly.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Prefetch

if TYPE_CHECKING:
    from accounts.models import User
    from payments.models import Payment


@dataclass(frozen=True)
class Offer:
    """A priced product reference, as a payment records it."""

    product: str
    ref: str  # canonical reference (a plan's code, not its alias or UUID)
    amount_paise: int
    currency: str
    label: str


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

    def offer(self, *, user: "User | None", ref: str, now: datetime) -> Offer: ...

    def fulfil(self, *, payment: "Payment", now: datetime) -> Fulfilment: ...

    def revoke(self, *, payment: "Payment", now: datetime) -> None: ...

    def refund_preview(self, *, payment: "Payment", now: datetime) -> RefundPreview: ...

    def describe(self, *, payment: "Payment", now: datetime) -> dict[str, Any]: ...

    def prefetch(self) -> "list[Prefetch[Any]]": ...

    def labels(self, *, refs: Collection[str]) -> dict[str, "Label"]: ...


@dataclass(frozen=True)
class Label:
    """How people see a product reference: `id` and `name` (a plan's code and name). `name` is None when the
    product no longer knows the reference."""

    id: str
    name: str | None


_products: dict[str, Product] = {}
_checkout: list[str] = []


def register(product: Product, *, checkout: bool = False) -> None:
    """Register the product sold under `product.key`; registering the same key twice is a wiring error.

    `checkout=True`: the product `POST /payments/create {planId}` sells (one product only)."""
    existing = _products.get(product.key)
    if existing is not None and type(existing) is not type(product):
        raise ImproperlyConfigured(f"Product {product.key!r} is already registered by {type(existing).__name__}.")
    if checkout and _checkout and _checkout[0] != product.key:
        raise ImproperlyConfigured(f"Product {_checkout[0]!r} is already the checkout product.")
    _products[product.key] = product
    if checkout and not _checkout:
        _checkout.append(product.key)


def checkout_product() -> Product:
    """The product `POST /payments/create` sells."""
    if not _checkout:
        raise ImproperlyConfigured("No product is registered with checkout=True (register it from its AppConfig).")
    return _products[_checkout[0]]


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


def payments_label(payments: Iterable[Any]) -> None:
    """Set `payment.product_label` (a `Label`) on each payment: one `labels` call per product, whatever the count.

    The API's `planId`/`planName` and the admin's lists read it; `payment_label` labels a single payment."""
    payments = list(payments)
    by_product: dict[str, set[str]] = {}
    for payment in payments:
        by_product.setdefault(payment.product, set()).add(payment.product_ref)
    labels = {key: product_for(key).labels(refs=refs) for key, refs in by_product.items()}
    for payment in payments:
        payment.product_label = labels[payment.product].get(
            payment.product_ref, Label(id=payment.product_ref, name=None)
        )


def payment_label(payment: Any) -> Label:
    """The payment's `Label`, looked up unless `payments_label` already set it."""
    if not hasattr(payment, "product_label"):
        payments_label([payment])
    label: Label = payment.product_label
    return label
