"""Mandates: set up, confirm with PhonePe, turn off (docs/autopay.md).

Rules that hold everywhere in this module:

* A mandate's state changes only in `_move`, along `MANDATE_TRANSITIONS` (the database
  trigger refuses anything else), and each change writes an audit row. A refused move raises;
  where "already moved" is normal (a replayed sync), callers ask `MANDATE_MACHINE.can` first.
* Nothing changes on the word of a callback: `mandate_sync` reads PhonePe's subscription
  status API (and, while the first charge is pending, its order status) and applies that.
* No outbound HTTP while a row lock is held: PhonePe is asked between transactions.
* `Subscription.auto_renew` is true exactly when an active mandate, not being turned off,
  will renew that subscription; it is recomputed in the transaction that moves the mandate.
* One mandate per user: a set-up is refused while another is live or waiting for approval, and
  an approval PhonePe reports anyway for a mandate we will not keep (another is live, the account
  is closed, or we gave the set-up up) is cancelled at PhonePe and its first charge refunded.
"""

import logging
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_log_record
from accounts.models import User
from autopay import conf
from autopay.errors import (
    AutopayAlreadyOn,
    AutopayCancellationPending,
    AutopayNotFound,
    AutopaySetupInProgress,
    PlanNotRenewable,
)
from autopay.models import (
    ENDED_STATES,
    GATEWAY_STATES,
    LIVE_STATES,
    MANDATE_MACHINE,
    RENEWAL_MACHINE,
    Mandate,
    MandateState,
    Renewal,
    RenewalState,
)
from autopay.selectors import mandate_get_live
from payments.api import (
    CreatedOrder,
    GatewayUnavailable,
    Payment,
    PaymentStatus,
    PhonePeError,
    PhonePeNotFound,
    PhonePeRejected,
    PhonePeUnavailable,
    gateway_error,
    gateway_failure_reason,
    get_autopay_client,
    payment_apply_order_status,
    payment_fail_on_create,
    payment_open,
    payment_record_gateway_order,
    payment_redirect_url,
    product_for,
    refund_open_automatic,
)
from subscriptions.entitlements import entitlement_grace_end
from subscriptions.fulfilment import PLAN_PRODUCT
from subscriptions.models import Grant, Plan, PlanPeriod, PlanType, Subscription, SubscriptionStatus
from subscriptions.services import plan_resolve

logger = logging.getLogger("manas360.autopay")

M = MandateState
SYSTEM_ACTOR = "system:autopay"
FREQUENCY_BY_PERIOD: dict[str, str] = {PlanPeriod.MONTH: "MONTHLY", PlanPeriod.YEAR: "YEARLY"}


def _new_id(prefix: str) -> str:
    """≤ 63 chars of [A-Za-z0-9_-], opaque: nothing personal or clinical reaches PhonePe."""
    return f"{prefix}_{uuid.uuid4().hex}"


def _mark_off(mandate: Mandate, *, reason: str, now: datetime, actor: User | None = None, **context: Any) -> None:
    """Autopay is off for this mandate from `now` (no notice or debit starts; autoRenew false), with its audit
    row. The caller holds the mandate locked and saves `cancel_requested_at`."""
    before = {"state": mandate.state, "auto_renew": mandate.will_renew}
    mandate.cancel_requested_at = now
    _audit(
        mandate,
        "autopay.turn_off",
        before=before,
        after={"state": mandate.state, "auto_renew": False, "reason": reason},
        actor=actor,
        **context,
    )


def _audit(
    mandate: Mandate,
    action: str,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
    actor: User | None = None,
    **context: Any,
) -> None:
    audit_log_record(
        action=action,
        actor=actor,
        actor_email=None if actor is not None else SYSTEM_ACTOR,
        resource_type="mandate",
        resource_id=mandate.pk,
        before=before,
        after=after,
        **context,
    )


def _move(
    mandate: Mandate, to_state: str, *, now: datetime, reason: str = "", actor: User | None = None, **context: Any
) -> None:
    """The one place a mandate's state changes (caller saves it). `TransitionRefused`, nothing changed, if illegal."""
    from_state = MANDATE_MACHINE.transition(mandate, to_state)
    if to_state == M.ACTIVE and mandate.activated_at is None:
        mandate.activated_at = now
    if to_state not in LIVE_STATES:
        mandate.ended_at = now
        mandate.end_reason = (reason or to_state)[:200]
    _audit(
        mandate,
        "autopay.mandate_state",
        before={"state": from_state},
        after={"state": to_state, **({"reason": reason} if reason else {})},
        actor=actor,
        **context,
    )
    logger.info(
        "mandate state change",
        extra={"mandate_id": str(mandate.pk), "from_state": from_state, "to_state": to_state},
    )


def granted_subscription_id(payment: Payment) -> uuid.UUID | None:
    """The subscription row that shows the period `payment` bought (the ledger's grant of it)."""
    return (
        Grant.objects.filter(payment=payment, continues__isnull=True).values_list("subscription_id", flat=True).first()
    )


def _refresh_auto_renew(subscription_id: uuid.UUID | None) -> None:
    """autoRenew = an active mandate that is not being turned off renews this active, uncancelled subscription."""
    if subscription_id is None:
        return
    subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
    renews = (
        subscription.status == SubscriptionStatus.ACTIVE
        and subscription.cancelled_at is None
        and Mandate.objects.filter(
            subscription_id=subscription_id, state=M.ACTIVE, cancel_requested_at__isnull=True
        ).exists()
    )
    if subscription.auto_renew != renews:
        subscription.auto_renew = renews
        subscription.save(update_fields=["auto_renew", "updated_at"])


# --- setup (turn on) ------------------------------------------------------------------


def _renewable_plan(plan_identifier: str) -> Plan:
    plan = plan_resolve(plan_identifier=plan_identifier)
    if plan.is_free or plan.type != PlanType.RECURRING or plan.period not in FREQUENCY_BY_PERIOD:
        raise PlanNotRenewable()
    return plan


def _clear_unfinished_setups(user: User, *, now: datetime) -> Mandate | None:
    """An unfinished setup still within its checkout window is answered again (a double click
    starts nothing new); older ones are confirmed with PhonePe and, if still unfinished, failed."""
    reusable = None
    for mandate in Mandate.objects.select_related("setup_payment", "plan").filter(
        user=user, state=M.ACTIVATION_IN_PROGRESS
    ):
        if mandate.cancel_requested_at is not None:
            # Turned off or refused while PhonePe may hold it active: it is cancelled there, never given up here.
            mandate_cancel_at_gateway(mandate_id=mandate.pk, now=now)
            if Mandate.objects.filter(pk=mandate.pk, state__in=LIVE_STATES).exists():
                raise AutopayCancellationPending()
            continue
        payment = mandate.setup_payment
        if payment.status == PaymentStatus.PENDING and payment.expires_at and payment.expires_at > now:
            reusable = reusable or mandate
            continue
        mandate_sync(mandate_id=mandate.pk, now=now)
        with transaction.atomic():
            locked = Mandate.objects.select_for_update().get(pk=mandate.pk)
            if locked.state == M.ACTIVATION_IN_PROGRESS:
                _move(locked, M.FAILED, now=now, reason="setup abandoned")
                locked.save(update_fields=["state", "ended_at", "end_reason", "updated_at"])
    return reusable


def mandate_setup(
    *, user: User, plan_identifier: str, now: datetime, ip_address: str | None = None, user_agent: str = ""
) -> Mandate:
    """Start Autopay for a plan: a PhonePe checkout whose first charge is the first period."""
    try:
        return _mandate_setup(
            user=user, plan_identifier=plan_identifier, now=now, ip_address=ip_address, user_agent=user_agent
        )
    except PhonePeError as exc:  # PhonePe could not be asked about an earlier mandate: nothing new was started
        raise GatewayUnavailable() from exc


def _mandate_setup(
    *, user: User, plan_identifier: str, now: datetime, ip_address: str | None, user_agent: str
) -> Mandate:
    plan = _renewable_plan(plan_identifier)
    for live in Mandate.objects.filter(user=user, state__in=[M.ACTIVE, M.PAUSED]):
        if live.cancel_requested_at is None:
            raise AutopayAlreadyOn()
        mandate_sync(mandate_id=live.pk, now=now)  # turned off a moment ago: has PhonePe confirmed?
        live.refresh_from_db()
        if live.state in (M.ACTIVE, M.PAUSED):
            raise AutopayCancellationPending()
    reusable = _clear_unfinished_setups(user, now=now)
    if reusable is not None:
        if reusable.plan_id == plan.pk:
            return reusable  # a second click: the checkout that is still open
        # Another plan's checkout is still open: both could be approved (two live mandates, two first charges).
        raise AutopaySetupInProgress(extra={"expires_at": _checkout_expiry(reusable)})
    offer = product_for(PLAN_PRODUCT).offer(user=user, ref=plan.code, now=now)  # refused if it would buy nothing new

    expire_after = min(max(settings.PHONEPE_ORDER_EXPIRE_SECONDS, 300), 3600)
    with transaction.atomic():
        # One set-up at a time per user: the user's row serializes concurrent requests, so the check below
        # sees the mandate a concurrent request created (the checks above ran without a lock).
        User.objects.select_for_update().filter(pk=user.pk).first()
        other = Mandate.objects.select_related("setup_payment").filter(user=user, state__in=LIVE_STATES).first()
        if other is not None:
            if other.state != M.ACTIVATION_IN_PROGRESS:
                raise AutopayAlreadyOn()
            raise AutopaySetupInProgress(extra={"expires_at": _checkout_expiry(other)})
        payment = payment_open(
            user=user, offer=offer, merchant_order_id=_new_id("M360A"), expires_at=now + timedelta(seconds=expire_after)
        )
        mandate = Mandate.objects.create(
            user=user,
            plan=plan,
            setup_payment=payment,
            merchant_subscription_id=_new_id("MS360"),
            frequency=FREQUENCY_BY_PERIOD[plan.period],
            amount_paise=plan.amount_paise,
            max_amount_paise=plan.amount_paise,
            expires_at=now + conf.mandate_validity(),
        )
        _audit(
            mandate,
            "autopay.turn_on",
            before={},
            after={"state": mandate.state, "plan": plan.code, "amount_paise": plan.amount_paise},
            actor=user,
            ip_address=ip_address,
            user_agent=user_agent,
        )
    try:
        order = setup_checkout_create(mandate=mandate, expire_after=expire_after)
    except PhonePeError as exc:
        _setup_failed(mandate_id=mandate.pk, reason=gateway_failure_reason(exc), now=now)
        raise gateway_error(exc) from exc
    payment_record_gateway_order(payment=payment, order=order)
    mandate.redirect_url = order.redirect_url[:1000]
    mandate.save(update_fields=["redirect_url", "updated_at"])
    logger.info("autopay setup started", extra={"mandate_id": str(mandate.pk), "plan": plan.code})
    return mandate


def setup_checkout_create(*, mandate: Mandate, expire_after: int) -> CreatedOrder:
    """Ask PhonePe for the set-up checkout of a new mandate (its first charge is the set-up payment)."""
    payment = mandate.setup_payment
    return get_autopay_client().create_subscription_checkout(
        merchant_order_id=payment.merchant_order_id,
        merchant_subscription_id=mandate.merchant_subscription_id,
        amount_paise=payment.amount_paise,
        max_amount_paise=mandate.max_amount_paise,
        frequency=mandate.frequency,
        subscription_expire_at_ms=int(mandate.expires_at.timestamp() * 1000),
        redirect_url=payment_redirect_url(payment),
        expire_after_seconds=expire_after,
        meta_info={"udf1": str(payment.pk)},
    )


def _checkout_expiry(mandate: Mandate) -> str | None:
    expires_at = mandate.setup_payment.expires_at
    return expires_at.isoformat() if expires_at is not None else None


def _setup_failed(*, mandate_id: uuid.UUID, reason: str, now: datetime) -> None:
    with transaction.atomic():
        mandate = Mandate.objects.select_for_update().get(pk=mandate_id)
        if MANDATE_MACHINE.can(mandate, M.FAILED):
            _move(mandate, M.FAILED, now=now, reason=reason)
            mandate.save(update_fields=["state", "ended_at", "end_reason", "updated_at"])
    payment_fail_on_create(payment_id=Mandate.objects.get(pk=mandate_id).setup_payment_id, reason=reason, now=now)


# --- confirm with PhonePe -------------------------------------------------------------


def mandate_sync(*, mandate_id: uuid.UUID | str, now: datetime, ask_cancel: bool = True) -> bool:
    """Read the mandate's (and, while pending, its first charge's) state from PhonePe and apply it.

    Idempotent; safe from a callback, a job or a user's request. Returns True if the mandate changed.
    Raises `PhonePeError` when PhonePe cannot be asked (the caller decides whether to retry), including
    when an approval not kept could not be cancelled at PhonePe (`ask_cancel=False`: right after a
    cancel, read only).
    """
    mandate = Mandate.objects.select_related("setup_payment").get(pk=mandate_id)
    client = get_autopay_client()
    if mandate.setup_payment.status in (PaymentStatus.PENDING, PaymentStatus.FAILED):
        # FAILED too: a set-up we gave up on may still be approved at PhonePe (its first charge then counts).
        try:
            order = client.get_order_status(merchant_order_id=mandate.setup_payment.merchant_order_id)
        except PhonePeNotFound:
            order = None
        if order is not None:
            payment_apply_order_status(payment_id=mandate.setup_payment_id, status=order, now=now)
    try:
        gateway = client.get_subscription_status(merchant_subscription_id=mandate.merchant_subscription_id)
    except PhonePeNotFound:
        gateway = None
    target = GATEWAY_STATES.get(gateway.state) if gateway is not None else None
    refused = False
    with transaction.atomic():
        if target in (M.ACTIVE, M.PAUSED):
            # Two approvals synced at once: the user's live mandates are locked in one order first, so the later
            # of the two sees the earlier one live (and is refused) instead of failing on the unique index.
            list(
                Mandate.objects.select_for_update()
                .filter(user_id=mandate.user_id, state__in=LIVE_STATES)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        mandate = Mandate.objects.select_for_update().select_related("setup_payment").get(pk=mandate_id)
        before = (mandate.state, mandate.subscription_id)
        fields = {"last_synced_at", "updated_at"}
        mandate.last_synced_at = now
        if gateway is not None:
            mandate.gateway_state = gateway.state[:30]
            mandate.gateway_subscription_id = mandate.gateway_subscription_id or gateway.subscription_id[:100]
            fields |= {"gateway_state", "gateway_subscription_id"}
            refusal = _approval_refusal(mandate, target)
            if refusal:
                _approval_refuse(mandate, reason=refusal, fields=fields, now=now)
                refused = True
            elif target is not None and target != mandate.state:
                from_state = mandate.state
                if MANDATE_MACHINE.can(mandate, target):
                    _move(mandate, target, now=now, reason=f"PhonePe reports {gateway.state}")
                    fields |= {"state", "activated_at", "ended_at", "end_reason"}
                    if target not in LIVE_STATES and from_state != M.ACTIVATION_IN_PROGRESS:
                        # A mandate that never renewed has no renewal or grace of its own to stop (and must not
                        # end the grace of the user's other, live mandate).
                        _renewals_stop(mandate, now=now)
                else:
                    logger.warning(
                        "gateway state not applicable",
                        extra={"mandate_id": str(mandate.pk), "state": mandate.state, "gateway": gateway.state},
                    )
        payment = mandate.setup_payment
        if mandate.subscription_id is None and payment.status == PaymentStatus.SUCCESS:
            mandate.subscription_id = granted_subscription_id(payment)
            fields.add("subscription")
        if payment.refund_reason and mandate.state == M.ACTIVE and mandate.cancel_requested_at is None:
            # The first charge bought nothing (refunded by the ledger's rules): nothing for this mandate to renew.
            _mark_off(mandate, reason="first charge refunded", now=now)
            fields.add("cancel_requested_at")
        mandate.save(update_fields=sorted(fields))
        _refresh_auto_renew(mandate.subscription_id)
    if refused and ask_cancel:
        # Live at PhonePe but not kept here: cancelled there now, on every sync until PhonePe confirms. Marked off
        # and refunded already, so a failure here only delays the cancel: the caller retries (a callback is answered
        # 503 and delivered again; the renewal job retries a mandate still activating here).
        try:
            client.cancel_subscription(merchant_subscription_id=mandate.merchant_subscription_id)
        except PhonePeRejected:
            pass  # already ended at PhonePe: the read below says how
        except PhonePeError:
            logger.warning("cancel of an approval not kept not confirmed", extra={"mandate_id": str(mandate.pk)})
            raise
        mandate_sync(mandate_id=mandate_id, now=now, ask_cancel=False)
        mandate.refresh_from_db()
    return (mandate.state, mandate.subscription_id) != before


def _approval_refusal(mandate: Mandate, target: str | None) -> str:
    """Why PhonePe's approval of this mandate (`target` ACTIVE or PAUSED) is not kept here, or "" to keep it."""
    if target not in (M.ACTIVE, M.PAUSED):
        return ""
    if mandate.state in ENDED_STATES:
        # Given up here (set-up abandoned, turned off before PhonePe knew it) and approved at PhonePe after all.
        return "set-up already ended" if mandate.activated_at is None else ""
    if mandate.state != M.ACTIVATION_IN_PROGRESS:
        return ""
    user = User.objects.only("is_active", "deleted_at").get(pk=mandate.user_id)
    if user.deleted_at is not None or not user.is_active:
        return "account closed"
    if Mandate.objects.filter(user_id=mandate.user_id, state__in=[M.ACTIVE, M.PAUSED]).exclude(pk=mandate.pk).exists():
        return "another mandate is live"
    return ""


def _approval_refuse(mandate: Mandate, *, reason: str, fields: set[str], now: datetime) -> None:
    """An approval we will not keep (caller holds the mandate and its first payment locked). The mandate does not
    become live here; it is marked off (no debit ever starts) and its first charge is refunded in full, in this
    transaction (once, whatever the number of syncs)."""
    if mandate.cancel_requested_at is None:
        _mark_off(mandate, reason=f"approval not kept: {reason}", now=now)
        fields.add("cancel_requested_at")
        logger.warning("approval not kept", extra={"mandate_id": str(mandate.pk), "reason": reason})
    payment = mandate.setup_payment
    if not payment.refunds.exists():
        refund_open_automatic(payment=payment, reason=f"Autopay approval not kept: {reason}")


# --- turn off -------------------------------------------------------------------------


def mandate_turn_off(*, user: User, now: datetime, ip_address: str | None = None, user_agent: str = "") -> Mandate:
    """Cancel the user's mandate at PhonePe. Access to the end of the paid period is untouched.

    The request is recorded first (autoRenew off at once, no new debit starts); PhonePe's
    cancel follows. If PhonePe cannot be reached, 502 is raised and the renewal job retries
    the cancel (so does the next turn-off).
    """
    mandate = mandate_get_live(user=user)
    if mandate is None:
        raise AutopayNotFound()
    request_turn_off(
        mandate_id=mandate.pk,
        reason="turned off by the user",
        now=now,
        actor=user,
        ip_address=ip_address,
        user_agent=user_agent,
    )
    try:
        mandate_cancel_at_gateway(mandate_id=mandate.pk, now=now)
    except PhonePeError as exc:  # recorded as off already; the renewal job finishes the cancel
        raise GatewayUnavailable() from exc
    mandate.refresh_from_db()
    return mandate


def request_turn_off(
    *, mandate_id: uuid.UUID | str, reason: str, now: datetime, actor: User | None = None, **context: Any
) -> None:
    """Record that Autopay is off for this mandate (no new debit starts; autoRenew false). Idempotent."""
    with transaction.atomic():
        mandate = Mandate.objects.select_for_update().get(pk=mandate_id)
        if mandate.state not in LIVE_STATES or mandate.cancel_requested_at is not None:
            return
        _mark_off(mandate, reason=reason, now=now, actor=actor, **context)
        mandate.save(update_fields=["cancel_requested_at", "updated_at"])
        _refresh_auto_renew(mandate.subscription_id)


def mandates_end_for_user(*, user: User, actor: User | None = None, reason: str, now: datetime) -> None:
    """The user left (account deleted or suspended): every mandate that could still charge them is turned off.

    Registered with `accounts.departures`, so it runs inside the transaction that records the departure: Autopay
    is recorded as off (`cancel_requested_at`: no notice or debit starts from here on) together with it, and
    PhonePe's cancel is asked right after commit. If PhonePe cannot be reached, the renewal job retries the
    cancel. Idempotent (a second call only asks PhonePe again).
    """
    # In primary-key order, the order mandate_sync locks them in (no deadlock with a sync running meanwhile).
    mandate_ids = list(
        Mandate.objects.filter(user=user, state__in=LIVE_STATES).order_by("pk").values_list("pk", flat=True)
    )
    for mandate_id in mandate_ids:
        request_turn_off(mandate_id=mandate_id, reason=reason, now=now, actor=actor)
    if mandate_ids:
        transaction.on_commit(partial(_cancel_all_at_gateway, mandate_ids), robust=True)


def _cancel_all_at_gateway(mandate_ids: list[uuid.UUID]) -> None:
    now = timezone.now()  # runs after the departure commits, a unit of work of its own
    for mandate_id in mandate_ids:
        try:
            mandate_cancel_at_gateway(mandate_id=mandate_id, now=now)
        except (PhonePeError, GatewayUnavailable):  # recorded as off already; the renewal job finishes the cancel
            logger.warning("mandate cancel not confirmed", extra={"mandate_id": str(mandate_id)})


def mandate_cancel_at_gateway(*, mandate_id: uuid.UUID | str, now: datetime) -> None:
    """Ask PhonePe to cancel, then read the result back. A mandate PhonePe already ended is just synced."""
    mandate = Mandate.objects.get(pk=mandate_id)
    client = get_autopay_client()
    if mandate.state == M.ACTIVATION_IN_PROGRESS and mandate.gateway_state == "":
        # The checkout may never have been opened: PhonePe may not know the subscription yet.
        try:
            client.get_subscription_status(merchant_subscription_id=mandate.merchant_subscription_id)
        except PhonePeNotFound:
            with transaction.atomic():
                locked = Mandate.objects.select_for_update().get(pk=mandate_id)
                if MANDATE_MACHINE.can(locked, M.CANCELLED):
                    _move(locked, M.CANCELLED, now=now, reason="turned off before setup finished")
                    locked.save(update_fields=["state", "ended_at", "end_reason", "updated_at"])
            return
    try:
        client.cancel_subscription(merchant_subscription_id=mandate.merchant_subscription_id)
    except PhonePeUnavailable as exc:
        logger.warning("mandate cancel not confirmed", extra={"mandate_id": str(mandate_id)})
        raise GatewayUnavailable() from exc
    except PhonePeRejected:
        pass  # already cancelled, revoked or expired at PhonePe: the status read below says which
    mandate_sync(mandate_id=mandate_id, now=now, ask_cancel=False)


# --- when a mandate ends ------------------------------------------------------------------


def _renewals_stop(mandate: Mandate, *, now: datetime) -> None:
    """The mandate ended (revoked, cancelled, expired): no new debit, and a period that was
    never paid stops its grace. What was paid stays: access runs to the paid end."""
    for renewal in Renewal.objects.select_for_update().filter(
        mandate=mandate, state__in=[RenewalState.SCHEDULED, RenewalState.NOTIFIED]
    ):
        RENEWAL_MACHINE.transition(renewal, RenewalState.ABANDONED)
        renewal.failure_reason = f"mandate {mandate.state}"
        renewal.save(update_fields=["state", "failure_reason", "updated_at"])
    entitlement_grace_end(user=mandate.user, now=now)
