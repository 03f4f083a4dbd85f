"""Renewals: charge each period through the mandate (docs/autopay.md).

One renewal attempt walks `scheduled -> notified -> debiting -> succeeded | failed`:

1. scheduled: created `AUTOPAY_NOTIFY_BEFORE_HOURS` before the paid end, after PhonePe
   confirmed the mandate is ACTIVE;
2. notified: PhonePe accepted the pre-debit notification (same merchantOrderId on a re-run);
3. debiting: written *before* asking PhonePe to debit, so a crash after the debit request
   is followed by a status read; the request is sent again only while PhonePe says the order
   is still NOTIFIED (it never arrived) and the notice is valid. PhonePe debits an order once;
4. succeeded: PhonePe's order status says COMPLETED for our amount; a payment is recorded
   and its period appended to the paid end, in one transaction (or, when the user turned
   Autopay off or closed the account before we learned of it, recorded and refunded).

An attempt that started is always finished with PhonePe's word, whatever happened to the
mandate, the subscription or the user since; the sweep picks it up whatever the mandate's state.

The database keeps it honest: one open attempt per mandate, one success per (mandate,
cycle), one payment per merchantOrderId. `renewal_advance` is the job step: idempotent,
safe to run twice at once or again after a crash at any line.

A failed debit is retried `AUTOPAY_RETRY_AFTER_HOURS` later with a new notification, up to
`AUTOPAY_MAX_ATTEMPTS` per period; meanwhile access continues up to the grace end
(`AUTOPAY_GRACE_DAYS` after the paid end). When the attempts or the grace run out, the
subscription ends at its paid end and the mandate is cancelled at PhonePe.
"""

import logging
import uuid
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from autopay import conf
from autopay.models import (
    ENDED_STATES,
    OPEN_RENEWAL_STATES,
    RENEWAL_MACHINE,
    Mandate,
    MandateState,
    Renewal,
    RenewalState,
)
from autopay.services import (
    _audit,
    _refresh_auto_renew,
    granted_subscription_id,
    mandate_cancel_at_gateway,
    mandate_sync,
    request_turn_off,
)
from payments.api import (
    Offer,
    OrderStatus,
    PhonePeNotFound,
    PhonePeRejected,
    PhonePeUnavailable,
    SubscriptionOrderStatus,
    get_autopay_client,
    payment_apply_order_status,
    payment_open,
)
from subscriptions.entitlements import entitlement_grace_end, entitlement_grace_settle, entitlement_grace_start
from subscriptions.fulfilment import PLAN_PRODUCT
from subscriptions.models import Subscription, SubscriptionStatus

logger = logging.getLogger("manas360.autopay")

R = RenewalState
M = MandateState
# A setup whose callbacks have not arrived this long after it started is checked with PhonePe by the job.
SETUP_CHECK_AFTER_MINUTES = 5


def _move(renewal: Renewal, to_state: str, *, reason: str = "") -> None:
    """The one place a renewal's state changes (caller saves it). `TransitionRefused`, nothing changed, if illegal."""
    RENEWAL_MACHINE.transition(renewal, to_state)
    if reason:
        renewal.failure_reason = reason[:200]
    logger.info("renewal state change", extra={"renewal_id": str(renewal.pk), "to_state": to_state})


# --- the job step ------------------------------------------------------------------------


def renewal_advance(*, mandate_id: uuid.UUID | str, now: datetime) -> str:
    """Move one mandate's renewal one or more steps forward. Returns what it did (for logs and tests).

    An attempt that started is finished first, whatever happened since (mandate ended or being turned off,
    subscription replaced, user gone): a debit PhonePe took is recorded, and refunded when the user no longer
    wants it; no new debit is asked for a mandate that will not renew.
    """
    mandate = Mandate.objects.select_related("subscription", "plan", "user").get(pk=mandate_id)
    if mandate.state == M.ACTIVATION_IN_PROGRESS:
        if mandate.cancel_requested_at is not None:
            # Turned off, or an approval not kept (docs/autopay.md), before PhonePe confirmed the cancel.
            mandate_cancel_at_gateway(mandate_id=mandate.pk, now=now)
            return "cancel_retried"
        # Its callbacks may have been lost: PhonePe's word on the setup is read here.
        mandate_sync(mandate_id=mandate.pk, now=now)
        return "setup_checked"
    turned_off = ""
    if mandate.state in (M.ACTIVE, M.PAUSED) and mandate.cancel_requested_at is None:
        reason = _turn_off_reason(mandate, now=now)
        if reason:
            # A deleted or suspended account is never notified or charged again: leaving turns Autopay off at
            # once (accounts.departures); this catches whatever that missed.
            request_turn_off(mandate_id=mandate.pk, reason=reason, now=now)
            mandate.refresh_from_db()
            turned_off = "turned_off_user_gone" if _user_gone(mandate) else "turned_off"
    renewal = mandate.renewals.filter(state__in=OPEN_RENEWAL_STATES).first()
    settled = ""
    if renewal is not None and (mandate.state not in (M.ACTIVE, M.PAUSED) or _refund_reason(mandate)):
        settled = _settle(renewal, now=now)
        renewal = None
    if mandate.state not in (M.ACTIVE, M.PAUSED):
        return settled or "mandate_not_live"
    if mandate.cancel_requested_at is not None:
        mandate_cancel_at_gateway(mandate_id=mandate.pk, now=now)
        return settled or turned_off or "cancel_retried"
    subscription = mandate.subscription
    if subscription is None:
        return "no_subscription"
    if renewal is None:
        renewal_or_outcome = _start_attempt(mandate, subscription, now)
        if isinstance(renewal_or_outcome, str):
            return renewal_or_outcome
        renewal = renewal_or_outcome
    elif renewal.state == R.DEBITING and now >= renewal.period_start:
        # The paid end passed while PhonePe has not said how the debit went (its own retries, or its status API
        # is down): access goes on into the grace period meanwhile, as after a failure. A success settles it.
        _grace_begin(renewal, now=now)
    return _drive(renewal, now)


def _user_gone(mandate: Mandate) -> bool:
    user = mandate.user
    return user.deleted_at is not None or not user.is_active


def _refund_reason(mandate: Mandate) -> str:
    """Why a debit of this mandate confirmed now is refunded rather than granted ("" = the user wants it)."""
    if _user_gone(mandate):
        return "The account was closed before this Autopay debit was confirmed, so it is refunded."
    if mandate.cancel_requested_at is not None or mandate.state in (M.CANCELLED, M.REVOKED):
        return "Autopay was turned off before this debit was confirmed, so it is refunded."
    return ""


def _turn_off_reason(mandate: Mandate, *, now: datetime) -> str:
    """Why a mandate that would renew must be turned off now ("" = it goes on)."""
    if _user_gone(mandate):
        return "account closed"
    subscription = _subscription_follow(mandate, now=now)
    if subscription is None:
        return ""
    if subscription.status == SubscriptionStatus.ACTIVE:
        # The user cancelled the subscription itself: Autopay goes off with it.
        return "subscription cancelled" if subscription.cancelled_at is not None else ""
    if subscription.status == SubscriptionStatus.EXPIRED:
        if Subscription.objects.filter(user_id=mandate.user_id, status=SubscriptionStatus.ACTIVE).exists():
            return "subscription replaced"  # another plan runs now
        # The paid time ran out while a renewal was under way (a debit not yet confirmed, a failure learned
        # late): the renewal rules decide (retry within the grace period, or lapse), not the row's state.
        return ""
    # Replaced by another plan, refunded or cancelled: nothing left for this mandate to renew.
    return f"subscription {subscription.status}"


def _subscription_follow(mandate: Mandate, *, now: datetime) -> Subscription | None:
    """The row this mandate renews. When the paid time ran out and the same plan goes on in a new row (a
    grace period or a renewal granted after the paid end), the mandate points at that row from now on."""
    current = mandate.subscription
    if current is None or current.status != SubscriptionStatus.EXPIRED:
        return current
    if _point_at_live_subscription(mandate, now=now):
        return mandate.subscription
    return current


def _point_at_live_subscription(mandate: Mandate, *, now: datetime) -> bool:
    """Point the mandate at the user's active row of its plan if it points elsewhere. True if it moved."""
    live = Subscription.objects.filter(
        user_id=mandate.user_id, status=SubscriptionStatus.ACTIVE, plan_id=mandate.plan_id
    ).first()
    if live is None or live.pk == mandate.subscription_id:
        return False
    with transaction.atomic():
        previous = mandate.subscription_id
        Mandate.objects.filter(pk=mandate.pk).update(subscription=live, updated_at=now)
        mandate.subscription = live
        _refresh_auto_renew(previous)
        _refresh_auto_renew(live.pk)
    logger.info("mandate follows its subscription", extra={"mandate_id": str(mandate.pk)})
    return True


def _settle(renewal: Renewal, *, now: datetime) -> str:
    """An attempt of a mandate that will not renew any more: PhonePe's word on it, and no new debit.

    Nothing was asked to be debited before `debiting` (the state is written before the redeem), so an attempt
    still scheduled or notified at PhonePe is abandoned; one that is debiting waits for PhonePe's final word
    (`renewal_sync` records a COMPLETED debit and refunds it). A debiting attempt whose order PhonePe still
    shows as only notified (every debit request failed before reaching it) fails once the mandate has ended
    at PhonePe: nothing can be debited on an ended mandate, and no request of ours goes out for it any more.
    """
    status = _renewal_apply(renewal.pk, now=now)
    with transaction.atomic():
        locked = Renewal.objects.select_for_update().select_related("mandate").get(pk=renewal.pk)
        if locked.state in (R.SCHEDULED, R.NOTIFIED):
            _move(locked, R.ABANDONED, reason="mandate will not renew")
            locked.save(update_fields=["state", "failure_reason", "updated_at"])
        elif (
            locked.state == R.DEBITING
            and status is not None
            and status.state == "NOTIFIED"
            and locked.mandate.state in ENDED_STATES
        ):
            _move(locked, R.FAILED, reason="mandate ended before a debit request reached PhonePe")
            locked.save(update_fields=["state", "failure_reason", "updated_at"])
    return f"settled_{locked.state}"


def _period_start(mandate: Mandate, subscription: Subscription) -> datetime | None:
    """The paid end the next charge extends: the last failed attempt's, while its period is unpaid."""
    last = mandate.renewals.order_by("-cycle", "-attempt").first()
    if last is not None and last.state != R.SUCCEEDED:
        return last.period_start
    return subscription.end_date


def _start_attempt(mandate: Mandate, subscription: Subscription, now: datetime) -> Renewal | str:
    period_start = _period_start(mandate, subscription)
    if period_start is None:
        return "lifetime"
    if now < period_start - conf.notify_before():
        return "not_due"
    last = mandate.renewals.order_by("-cycle", "-attempt").first()
    cycle, attempt = (last.cycle + 1 if last else 1), 1
    if last is not None and last.state != R.SUCCEEDED:  # the period is still unpaid: a retry
        cycle, attempt = last.cycle, last.attempt + 1
        if attempt > conf.max_attempts() or now >= period_start + conf.grace_period():
            _lapse(mandate.pk, period_start=period_start, reason="renewal failed; grace period over", now=now)
            return "lapsed"
        if last.updated_at + conf.retry_after() > now:
            return "waiting_to_retry"
    elif now >= period_start + conf.grace_period():
        # No attempt ran for a period whose grace is over (the jobs were stopped that long): too late to charge.
        _lapse(mandate.pk, period_start=period_start, reason="renewal not attempted; grace period over", now=now)
        return "lapsed"
    if mandate.state != M.ACTIVE:
        return "mandate_paused"
    # Before each cycle: is the mandate still ACTIVE at PhonePe?
    mandate_sync(mandate_id=mandate.pk, now=now)
    mandate.refresh_from_db()
    if not mandate.will_renew:
        return "mandate_not_live"
    try:
        with transaction.atomic():
            return Renewal.objects.create(
                mandate=mandate,
                cycle=cycle,
                attempt=attempt,
                merchant_order_id=f"M360R_{uuid.uuid4().hex}",
                amount_paise=mandate.amount_paise,
                period_start=period_start,
            )
    except IntegrityError:
        return "already_started"  # another worker created this attempt


def _drive(renewal: Renewal, now: datetime) -> str:
    if renewal.state == R.SCHEDULED:
        _notify(renewal, now)
        renewal.refresh_from_db()
    if renewal.state == R.NOTIFIED:
        if renewal.debit_after is None or now < renewal.debit_after:
            renewal_sync(renewal_id=renewal.pk, now=now)  # an auto-debit or an expired notice may have settled it
            return "notified"
        # Just before the debit: is the mandate still ACTIVE at PhonePe? (A revoked one abandons this renewal.)
        mandate_sync(mandate_id=renewal.mandate_id, now=now)
        renewal.refresh_from_db()
        if renewal.state != R.NOTIFIED or not Mandate.objects.get(pk=renewal.mandate_id).will_renew:
            return renewal.state
        with transaction.atomic():
            locked = Renewal.objects.select_for_update().get(pk=renewal.pk)
            moved = locked.state == R.NOTIFIED
            if moved:
                _move(locked, R.DEBITING)
                locked.debited_at = now
                locked.save(update_fields=["state", "debited_at", "updated_at"])
        if moved:  # asked once `debiting` is committed, never under the row lock
            _redeem(renewal)
        return _confirm(renewal, now=now)
    if renewal.state == R.DEBITING:
        # A run after the debit was asked for: PhonePe's word first. If the order is still NOTIFIED the request
        # never reached PhonePe (a 503, a timeout, a worker killed before sending it): send it again while the
        # notice is valid and the mandate will still renew. PhonePe debits an order at most once.
        status = _renewal_apply(renewal.pk, now=now)
        renewal.refresh_from_db()
        if renewal.state == R.DEBITING and status is not None and _may_redeem_again(renewal, status, now):
            _redeem(renewal)
            return _confirm(renewal, now=now)
    renewal.refresh_from_db()
    return renewal.state


def _confirm(renewal: Renewal, *, now: datetime) -> str:
    renewal_sync(renewal_id=renewal.pk, now=now)
    renewal.refresh_from_db()
    return renewal.state


def _redeem(renewal: Renewal) -> None:
    try:
        get_autopay_client().redeem(merchant_order_id=renewal.merchant_order_id)
    except PhonePeRejected as exc:  # e.g. the notice expired: the order status says what became of it
        logger.warning("redeem refused", extra={"renewal_id": str(renewal.pk), "code": exc.code})
    except PhonePeUnavailable:
        # Not an error of this run: the order status below (or the next run) says whether it went through,
        # and the next run sends the request again while the order is still NOTIFIED.
        logger.warning("redeem not answered", extra={"renewal_id": str(renewal.pk)})


def _may_redeem_again(renewal: Renewal, status: SubscriptionOrderStatus, now: datetime) -> bool:
    if status.state != "NOTIFIED":
        return False  # PENDING (PhonePe is debiting, with its own retries), or final
    if status.valid_upto_ms is not None and now.timestamp() * 1000 >= status.valid_upto_ms:
        return False  # the notice lapsed: PhonePe fails the order, and the retry rules take over
    mandate = Mandate.objects.select_related("user").get(pk=renewal.mandate_id)
    return mandate.will_renew and not _user_gone(mandate)


def _notify(renewal: Renewal, now: datetime) -> None:
    mandate = renewal.mandate
    try:
        result = get_autopay_client().notify_redemption(
            merchant_order_id=renewal.merchant_order_id,
            merchant_subscription_id=mandate.merchant_subscription_id,
            amount_paise=renewal.amount_paise,
        )
    except PhonePeRejected as exc:
        with transaction.atomic():
            locked = Renewal.objects.select_for_update().get(pk=renewal.pk)
            if RENEWAL_MACHINE.can(locked, R.FAILED):
                _move(locked, R.FAILED, reason=f"notify refused: {exc.code or exc.status_code}")
                locked.save(update_fields=["state", "failure_reason", "updated_at"])
        return
    with transaction.atomic():
        locked = Renewal.objects.select_for_update().get(pk=renewal.pk)
        if locked.state == R.SCHEDULED:
            _move(locked, R.NOTIFIED)
            locked.gateway_order_id = result.order_id[:100]
            locked.gateway_state = result.state[:30]
            locked.notified_at = now
            locked.debit_after = now + conf.debit_gap()
            locked.save(
                update_fields=["state", "gateway_order_id", "gateway_state", "notified_at", "debit_after", "updated_at"]
            )


# --- confirm with PhonePe ------------------------------------------------------------------


def renewal_sync(*, renewal_id: uuid.UUID | str, now: datetime) -> bool:
    """Apply PhonePe's order status to a renewal. COMPLETED for our amount: a payment is recorded
    and the period appended (or refunded, when the user no longer wants it), all in one transaction.
    Returns True if the renewal changed. Raises `PhonePeError` when PhonePe cannot be asked."""
    before = Renewal.objects.values_list("state", flat=True).get(pk=renewal_id)
    _renewal_apply(renewal_id, now=now)
    return Renewal.objects.values_list("state", flat=True).get(pk=renewal_id) != before


def _renewal_apply(renewal_id: uuid.UUID | str, *, now: datetime) -> SubscriptionOrderStatus | None:
    """`renewal_sync`'s work; returns PhonePe's answer (None: the renewal was final, or PhonePe has no order)."""
    renewal = Renewal.objects.get(pk=renewal_id)
    if renewal.state not in OPEN_RENEWAL_STATES:
        return None  # final here and at PhonePe (a FAILED order never completes later)
    try:
        status = get_autopay_client().get_subscription_order_status(merchant_order_id=renewal.merchant_order_id)
    except PhonePeNotFound:
        return None
    with transaction.atomic():
        renewal = (
            Renewal.objects.select_for_update(of=("self", "mandate"))  # a turn-off waits for this decision
            .select_related("mandate__user", "mandate__plan")
            .get(pk=renewal_id)
        )
        renewal.gateway_state = status.state[:30]
        if status.state == "COMPLETED" and status.amount == renewal.amount_paise:
            if renewal.state != R.SUCCEEDED:
                _record_charge(renewal, status, now=now)
        elif status.state == "COMPLETED":
            logger.error("renewal amount differs", extra={"renewal_id": str(renewal.pk), "amount": status.amount})
            if RENEWAL_MACHINE.can(renewal, R.FAILED):
                _move(renewal, R.FAILED, reason="gateway amount differs")
        elif status.state == "FAILED" and renewal.state in OPEN_RENEWAL_STATES:
            _move(renewal, R.FAILED, reason=status.error_code or "debit failed")
            mandate = renewal.mandate
            if renewal.state == R.FAILED and mandate.state in (M.ACTIVE, M.PAUSED) and not _refund_reason(mandate):
                _grace_start(renewal, now=now)
        renewal.save()
    if renewal.state == R.FAILED:
        # Learned after the paid end, the grace period is a new subscription row: the mandate renews that one.
        # (Its own transaction, after the renewal's: the mandate row is locked before subscription rows.)
        _point_at_live_subscription(renewal.mandate, now=now)
    return status


def _record_charge(renewal: Renewal, status: SubscriptionOrderStatus, *, now: datetime) -> None:
    """The debit went through: a payment in our books whose grant is appended (caller holds the transaction).

    The payment goes through payments' one path (`payment_apply_order_status`: state, audit, fulfilment).
    If the period was in grace, the grace grant becomes this payment's grant, so the paid period starts at
    the paid end, not at the moment the money arrived. If the user no longer wants it (Autopay turned off,
    the mandate cancelled or revoked, the account closed) before we learned of the debit, the payment is
    recorded and refunded in full instead, granting nothing.
    """
    mandate = renewal.mandate
    refund_reason = _refund_reason(mandate)
    if renewal.payment_id is None:
        plan = mandate.plan
        offer = Offer(
            product=PLAN_PRODUCT,
            ref=plan.code,
            amount_paise=renewal.amount_paise,  # what the mandate charges, even if the plan's price changed since
            currency=plan.currency,
            label=plan.name,
        )
        renewal.payment = payment_open(user=mandate.user, offer=offer, merchant_order_id=renewal.merchant_order_id)
        renewal.payment.gateway_order_id = status.order_id[:100]
        renewal.payment.save(update_fields=["gateway_order_id", "updated_at"])
    payment = renewal.payment
    assert payment is not None
    if not refund_reason:
        entitlement_grace_settle(user=mandate.user, payment=payment, plan=mandate.plan, now=now)
    payment_apply_order_status(
        payment_id=payment.pk,
        now=now,
        status=OrderStatus(
            merchant_order_id=status.merchant_order_id,
            order_id=status.order_id,
            state=status.state,
            amount=status.amount,
            expire_at_ms=status.valid_upto_ms,
            payment_mode="UPI_AUTO_PAY",
            transaction_id=status.transaction_id,
        ),
        refund_instead=refund_reason,
    )
    if RENEWAL_MACHINE.can(renewal, R.SUCCEEDED):
        _move(renewal, R.SUCCEEDED)
    renewal.completed_at = now
    renewal.failure_reason = ""
    granted = granted_subscription_id(payment)
    if granted and granted != mandate.subscription_id:
        Mandate.objects.filter(pk=mandate.pk).update(subscription_id=granted)
    _refresh_auto_renew(granted or mandate.subscription_id)
    _audit(
        mandate,
        "autopay.renewal_charged",
        before={"period_start": renewal.period_start.isoformat()},
        after={
            "cycle": renewal.cycle,
            "amount_paise": renewal.amount_paise,
            "payment_id": str(renewal.payment_id),
            **({"refunded": refund_reason} if refund_reason else {}),
        },
    )


def _grace_begin(renewal: Renewal, *, now: datetime) -> None:
    """`_grace_start` in its own transaction, then the mandate follows the row the grace period lives in."""
    with transaction.atomic():
        _grace_start(renewal, now=now)
    _point_at_live_subscription(renewal.mandate, now=now)


def _grace_start(renewal: Renewal, *, now: datetime) -> None:
    """A failed debit: access continues to the grace end while the next attempts run."""
    mandate = renewal.mandate
    grace_end = renewal.period_start + conf.grace_period()
    if entitlement_grace_start(
        user=mandate.user, plan=mandate.plan, until=grace_end, since=renewal.period_start, now=now
    ):
        _audit(
            mandate,
            "autopay.grace_started",
            before={"paid_end": renewal.period_start.isoformat()},
            after={"grace_end": grace_end.isoformat(), "cycle": renewal.cycle, "attempt": renewal.attempt},
        )


def _lapse(mandate_id: uuid.UUID | str, *, period_start: datetime, reason: str, now: datetime) -> None:
    with transaction.atomic():
        if entitlement_grace_end(user=Mandate.objects.get(pk=mandate_id).user, now=now):
            logger.info("grace ended without payment", extra={"mandate_id": str(mandate_id)})
        request_turn_off(mandate_id=mandate_id, reason=reason, now=now)
    try:
        mandate_cancel_at_gateway(mandate_id=mandate_id, now=now)
    except Exception:  # noqa: BLE001 - the next run retries the cancel (cancel_requested_at is set)
        logger.warning("cancel after lapse not confirmed", extra={"mandate_id": str(mandate_id)})


# --- the periodic sweep -------------------------------------------------------------------


def mandates_due(*, now: datetime) -> list[uuid.UUID]:
    """Ids of mandates with something to do: an open renewal (whatever the mandate's state: an attempt that
    started is finished), a paid end within the notice window, a period in grace, or a cancel PhonePe has
    not confirmed yet."""
    horizon = now + conf.notify_before()
    live = Mandate.objects.filter(state__in=[M.ACTIVE, M.PAUSED])
    unconfirmed_setups = Mandate.objects.filter(
        state=M.ACTIVATION_IN_PROGRESS, created_at__lte=now - timedelta(minutes=SETUP_CHECK_AFTER_MINUTES)
    )
    recent_failure = now - conf.grace_period() - conf.retry_after()
    return list(
        live.filter(subscription__end_date__lte=horizon)
        .values_list("id", flat=True)
        .union(
            Mandate.objects.filter(renewals__state__in=OPEN_RENEWAL_STATES).values_list("id", flat=True),
            live.filter(renewals__state=R.FAILED, renewals__period_start__gte=recent_failure).values_list(
                "id", flat=True
            ),
            live.filter(cancel_requested_at__isnull=False).values_list("id", flat=True),
            unconfirmed_setups.values_list("id", flat=True),
        )
    )
