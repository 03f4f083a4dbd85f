"""Entitlement: the grants a user holds, the chain they form, and the Subscription derived from them.

The rules (docs/payments.md, "What a payment buys"); "features" are what a plan covers
(`subscriptions.coverage`, the definition room access uses too):

* the same plan again, or another plan of the same features: its period is appended after the run of
  grants that already give those features;
* a plan that gives more (features the current plan lacks, or lifetime): starts now; the unused time of the
  running grant resumes after it (a continuation row of the same payment), so no paid time is lost;
* a plan that gives nothing the user does not already hold (anything covered by an active lifetime grant,
  a lesser plan covered for its whole period by the current one): refused;
* time behind a lifetime grant never starts (`parked_payment_ids`): its payments are refunded in full, decided
  by `subscriptions.services.parked_time_refund_after_grant` and its sweep, not here;
* revoking (a refund) removes exactly that payment's rows from the chain; the rest closes up;
* nothing here ever moves the end of another payment's period earlier.

Every function here runs inside the caller's transaction and locks the user's row first, then the grants,
then the subscription rows (after the payment row the caller may hold).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet

from subscriptions.coverage import features_covered_by
from subscriptions.models import LIVE_GRANT_STATES, Grant, GrantState, Plan, Subscription, SubscriptionStatus
from subscriptions.transitions import grant_move, transition

if TYPE_CHECKING:
    from accounts.models import User
    from payments.models import Payment

logger = logging.getLogger("manas360.subscriptions")

G = GrantState
S = SubscriptionStatus
REFUNDED = "refunded"


@dataclass(frozen=True)
class Placement:
    verdict: str  # "front", "append" or "refuse"
    index: int = 0
    reason: str = ""


def plan_duration(plan: Plan) -> timedelta | None:
    return None if plan.duration_days is None else timedelta(days=plan.duration_days)


def place(chain: list[Grant], plan: Plan, now: datetime) -> Placement:
    """Where a new grant of `plan` goes in a laid-out chain of live grants, or why it is refused.

    "Gives" is `subscriptions.coverage` (what room access uses too): Premium covers the AR tiers, so an AR
    add-on during Premium gives nothing new and is refused, never placed in front (which would pause Premium).
    """
    if not chain:
        return Placement("front")
    new = features_covered_by(plan)
    covering = []  # the leading grants that already give everything `plan` gives
    for grant in chain:
        if not features_covered_by(grant.plan) >= new:
            break
        covering.append(grant)
    for grant in covering:
        if grant.duration is None:
            return Placement(
                "refuse", reason=f"Your {grant.plan.name} plan already gives you everything in {plan.name}, for life."
            )
    if not covering:
        return Placement("front")  # it gives something the current plan does not
    head = chain[0]
    duration = plan_duration(plan)
    if features_covered_by(head.plan) == new:
        return Placement("front") if duration is None else Placement("append", index=len(covering))
    covered_until = covering[-1].ends_at
    if duration is not None and covered_until is not None and covered_until >= now + duration:
        return Placement(
            "refuse",
            reason=f"Your {head.plan.name} plan already includes everything in {plan.name} "
            f"until {covered_until:%Y-%m-%d}.",
        )
    return Placement("append", index=len(covering))


# --- the chain ---------------------------------------------------------------------


def _lock_chain(user: User, now: datetime) -> list[Grant]:
    """Lock the user, then return their live grants in chain order (adopting a grant-less active row)."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    chain = list(
        Grant.objects.select_for_update(of=("self",))
        .select_related("plan")
        .filter(user=user, state__in=LIVE_GRANT_STATES)
        .order_by("position", "created_at")
    )
    if not chain:
        active = Subscription.objects.select_related("plan").filter(user=user, status=S.ACTIVE).first()
        if active is not None and not active.has_lapsed(now):
            chain = [_adopt(active, now)]
    return chain


def _adopt(subscription: Subscription, now: datetime) -> Grant:
    """A subscription row made before grants existed (or by hand) becomes one unpaid grant of its period."""
    start = subscription.start_date or now
    grant = Grant(
        user_id=subscription.user_id,
        plan=subscription.plan,
        subscription=subscription,
        state=G.CURRENT,
        starts_at=start,
        duration=None if subscription.end_date is None else max(subscription.end_date - start, timedelta(0)),
        note="adopted from a subscription without grants",
    )
    grant.save()
    return grant


def _layout(chain: list[Grant], now: datetime) -> tuple[list[Grant], list[Grant]]:
    """Schedule the chain back to back; returns (live, finished). The head keeps a start already past."""
    live: list[Grant] = []
    finished: list[Grant] = []
    previous: Grant | None = None
    for grant in chain:
        if previous is None:
            if grant.starts_at is None or grant.starts_at > now:
                grant.starts_at = now
        else:
            grant.starts_at = previous.ends_at  # None behind a lifetime grant
        if grant.starts_at is None or grant.duration is None:
            grant.ends_at = None
        else:
            grant.ends_at = grant.starts_at + grant.duration
        previous = grant
        (finished if grant.ends_at is not None and grant.ends_at <= now else live).append(grant)
    return live, finished


def _save(live: list[Grant], retired: list[Grant], now: datetime) -> None:
    """Write states and schedules; rows leaving the head are written before the new head (one current)."""
    for grant in retired:
        if grant.state in LIVE_GRANT_STATES:
            grant_move(grant, G.ENDED)
    for index, grant in enumerate(live):
        grant.position = index
        started = grant.starts_at is not None and grant.starts_at <= now
        state = G.CURRENT if index == 0 and started else G.QUEUED
        if grant.state != state:  # re-laying a chain keeps most states: only a change is a move
            grant_move(grant, state)
    current = [grant for grant in live if grant.state == G.CURRENT]
    for grant in [*retired, *[g for g in live if g.state != G.CURRENT], *current]:
        if grant._state.adding:
            grant.save()
        else:
            grant.save(
                update_fields=[
                    "state",
                    "position",
                    "starts_at",
                    "ends_at",
                    "duration",
                    "subscription",
                    "note",
                    "revoked_at",
                    "updated_at",
                ]
            )


def _sync_subscription(user: User, live: list[Grant], now: datetime, *, end_reason: str = "") -> Subscription | None:
    """Derive the one active Subscription row from the chain: the head's plan, until the end of the run of
    grants with the same features (a different plan after it gets its own row when it starts)."""
    active = Subscription.objects.select_for_update().filter(user=user, status=S.ACTIVE).first()
    previous = active
    if active is not None and active.has_lapsed(now):
        transition(active, S.EXPIRED)
        active.auto_renew = False
        active.save(update_fields=["status", "auto_renew", "updated_at"])
        active = None
    if not live:
        if active is not None:
            transition(active, S.CANCELLED if end_reason else S.EXPIRED)
            active.auto_renew = False
            active.end_date = now
            if end_reason:
                active.cancelled_at = active.cancelled_at or now
                active.cancel_reason = end_reason
            active.save(
                update_fields=["status", "auto_renew", "end_date", "cancelled_at", "cancel_reason", "updated_at"]
            )
        return None
    head = live[0]
    end = head.ends_at  # the end of the run of grants that give what the head gives
    for grant in live[1:]:
        if features_covered_by(grant.plan) != features_covered_by(head.plan):
            break
        end = grant.ends_at
    if active is not None and active.plan_id == head.plan_id:
        if active.end_date != end:
            active.end_date = end
            active.save(update_fields=["end_date", "updated_at"])
        row = active
    else:
        if active is not None:
            transition(active, S.SUPERSEDED)
            active.auto_renew = False
            active.end_date = now
            active.save(update_fields=["status", "auto_renew", "end_date", "updated_at"])
        row = Subscription(
            user=user,
            plan=head.plan,
            status=S.PENDING,
            start_date=head.starts_at,
            end_date=end,
            auto_renew=False,  # true only while an Autopay mandate renews it (autopay app)
        )
        if previous is not None and previous.cancelled_at is not None and previous.cancel_reason != REFUNDED:
            # A cancel-at-period-end carries over to the plan that follows (a new payment undoes it, not time).
            row.auto_renew = False
            row.cancelled_at = previous.cancelled_at
            row.cancel_reason = previous.cancel_reason
        transition(row, S.ACTIVE)
        row.save()
        logger.info("subscription activated", extra={"subscription_id": str(row.pk), "plan": head.plan.code})
    for grant in live:
        grant.subscription = row
    return row


# --- operations ----------------------------------------------------------------------


@dataclass(frozen=True)
class GrantResult:
    granted: bool
    reason: str = ""
    subscription: Subscription | None = None


def entitlement_check(*, user: User, plan: Plan, now: datetime) -> Placement:
    """Where a purchase of `plan` would go now (read-only: for refusing at creation)."""
    chain = list(
        Grant.objects.select_related("plan")
        .filter(user=user, state__in=LIVE_GRANT_STATES)
        .order_by("position", "created_at")
    )
    if not chain:
        active = Subscription.objects.select_related("plan").filter(user=user, status=S.ACTIVE).first()
        if active is not None and not active.has_lapsed(now):
            chain = [
                Grant(
                    plan=active.plan,
                    starts_at=active.start_date or now,
                    duration=None if active.end_date is None else active.end_date - (active.start_date or now),
                )
            ]
    live, _ = _layout(chain, now)
    return place(live, plan, now)


def entitlement_grant(*, user: User, plan: Plan, payment: Payment | None = None, now: datetime) -> GrantResult:
    """Give `user` one period of `plan` (paid by `payment`, if any) by the rules above. Caller holds a transaction.

    Idempotent per payment: a payment that already has its grant is granted again without any change.
    """
    if payment is not None:
        existing = Grant.objects.filter(payment=payment, continues__isnull=True).select_related("subscription").first()
        if existing is not None:
            return GrantResult(True, subscription=existing.subscription)
    live, finished = _layout(_lock_chain(user, now), now)
    placement = place(live, plan, now)
    if placement.verdict == "refuse":
        _sync_subscription(user, live, now)
        _save(live, finished, now)
        return GrantResult(False, placement.reason)
    grant = Grant(user=user, plan=plan, payment=payment, duration=plan_duration(plan), state=G.QUEUED)
    if placement.verdict == "front" and live:
        head = live[0]
        assert head.starts_at is not None  # laid out: the head has started
        used = now - head.starts_at
        remaining = None if head.duration is None else head.duration - used
        rest = live[1:]
        if remaining is None or remaining > timedelta(0):
            rest.insert(
                0,
                Grant(
                    user=user,
                    plan=head.plan,
                    payment=head.payment,
                    continues=head,
                    duration=remaining,
                    state=G.QUEUED,
                    note=f"unused time of {head.plan.name}, resumes after {plan.name}",
                ),
            )
        head.duration = used
        head.ends_at = now
        head.note = f"paused for {plan.name}"
        finished.append(head)
        live = [grant, *rest]
    elif placement.verdict == "front":
        live = [grant]
    else:
        live.insert(placement.index, grant)
    live, more_finished = _layout(live, now)
    subscription = _sync_subscription(user, live, now)
    # Paying again undoes a cancel-at-period-end.
    if subscription is not None and subscription.cancelled_at is not None:
        subscription.cancelled_at = None
        subscription.cancel_reason = ""
        subscription.save(update_fields=["cancelled_at", "cancel_reason", "updated_at"])
    _save(live, [*finished, *more_finished], now)
    logger.info("grant added", extra={"grant_id": str(grant.pk), "plan": plan.code, "placement": placement.verdict})
    return GrantResult(True, subscription=subscription)


def entitlement_revoke(*, payment: Payment, now: datetime) -> None:
    """Take back exactly what `payment` bought (its refund completed). Caller holds a transaction."""
    if payment.user_id is None:
        return
    user = get_user_model().objects.get(pk=payment.user_id)
    chain = _lock_chain(user, now)
    own = set(Grant.objects.filter(payment=payment).values_list("pk", flat=True))
    if not own:
        return
    revoked = []
    for grant in chain:
        if grant.pk in own:
            grant_move(grant, G.REVOKED)
            grant.revoked_at = now
            if grant.starts_at is not None and grant.starts_at <= now:
                grant.ends_at = min(grant.ends_at or now, now)  # the used part stays on record
            else:
                grant.starts_at = grant.ends_at = None  # never started: nothing of it happened
            grant.note = "refunded"
            revoked.append(grant)
    # Rows of this payment already over (used up, paused or ended by an admin) are marked, nothing else moves.
    # ended -> revoked is the only move here; the database trigger guards this bulk update (it skips the machine).
    Grant.objects.filter(payment=payment).exclude(state__in=LIVE_GRANT_STATES).exclude(state=G.REVOKED).update(
        state=G.REVOKED, revoked_at=now, note="refunded after its period", updated_at=now
    )
    live, finished = _layout([grant for grant in chain if grant.pk not in own], now)
    _sync_subscription(user, live, now, end_reason=REFUNDED)
    _save(live, [*revoked, *finished], now)


def entitlements_end_all(*, user: User, note: str, now: datetime) -> None:
    """End every live grant of `user` now (an admin's immediate cancel). Caller holds a transaction."""
    chain = _lock_chain(user, now)
    for grant in chain:
        if grant.starts_at is not None and grant.starts_at <= now:
            grant.ends_at = now
        else:
            grant.starts_at = grant.ends_at = None
        grant.note = note[:255]
    _save([], chain, now)


def entitlements_advance(*, now: datetime, batch_size: int = 500) -> int:
    """Move every chain whose head has run out to its next grant, and expire subscriptions with nothing left.

    Run it every minute (management command `expire_subscriptions`): a run of grants with other features than the
    one that just ended (time resumed after a better plan) gets its Subscription row when this runs; the grants'
    own schedule is exact, the derived row follows within the interval. Returns how many users moved on.
    """
    due_users = set(
        Grant.objects.filter(state=G.CURRENT, ends_at__lte=now).values_list("user_id", flat=True)[:batch_size]
    )
    due_users |= set(
        Subscription.objects.filter(status=S.ACTIVE, end_date__lte=now).values_list("user_id", flat=True)[:batch_size]
    )
    users = get_user_model().objects.filter(pk__in=due_users)
    for user in users:
        with transaction.atomic():
            live, finished = _layout(_lock_chain(user, now), now)
            _sync_subscription(user, live, now)
            _save(live, finished, now)
    return len(due_users)


# --- time parked behind a lifetime grant ------------------------------------------------------------


def parked_payment_ids(
    *, user_id: uuid.UUID | None = None, exclude_payment_id: uuid.UUID | None = None
) -> QuerySet[Any]:
    """Ids of payments with time waiting behind a lifetime grant: queued grants whose start is empty (the chain
    never reaches them, docs/payments.md rule 6), not yet decided (no refund reason on the payment)."""
    parked = Grant.objects.filter(
        state=G.QUEUED, starts_at__isnull=True, payment__isnull=False, payment__refund_reason=""
    )
    if user_id is not None:
        parked = parked.filter(user_id=user_id)
    if exclude_payment_id is not None:
        parked = parked.exclude(payment_id=exclude_payment_id)
    return parked.order_by("payment_id").values_list("payment_id", flat=True).distinct()


def parked_reason(*, user_id: uuid.UUID, payment_id: uuid.UUID) -> str | None:
    """Why `payment_id`'s time never starts (the lifetime plan ahead of it), or None if it is not parked.

    Read it while holding the user's row lock (every change to the chain holds it)."""
    if not Grant.objects.filter(
        user_id=user_id, payment_id=payment_id, state=G.QUEUED, starts_at__isnull=True
    ).exists():
        return None
    lifetime = (
        Grant.objects.select_related("plan")
        .filter(user_id=user_id, state__in=LIVE_GRANT_STATES, duration__isnull=True)
        .exclude(payment_id=payment_id)
        .order_by("position")
        .first()
    )
    name = lifetime.plan.name if lifetime is not None else "lifetime"
    return (
        f"Your {name} plan gives you everything for life, so the time this payment bought would never be used: "
        "it is refunded in full."
    )


# --- Autopay grace (autopay app, docs/autopay.md) -------------------------------------------------

GRACE_NOTE = "autopay grace: renewal being retried"


def _is_grace(grant: Grant) -> bool:
    return grant.payment_id is None and grant.note == GRACE_NOTE


def entitlement_grace_start(
    *, user: User, plan: Plan, until: datetime, since: datetime | None = None, now: datetime
) -> bool:
    """Lend `plan` until `until`, after the user's paid chain, while a failed renewal is retried.

    An unpaid grant at the end of the chain; at most one. `since` is the paid end the loan follows: when the
    failure is learned after the paid chain ran out, the loan still starts there (so a retry that succeeds
    starts its period at the paid end), not when we learned it. Returns True if it was added. Caller holds a
    transaction.
    """
    live, finished = _layout(_lock_chain(user, now), now)
    if any(_is_grace(grant) for grant in live):
        return False
    paid_end = live[-1].ends_at if live else min(since or now, now)
    if paid_end is None or until <= max(paid_end, now):  # lifetime, or the loan would already be over
        return False
    live.append(
        Grant(
            user=user,
            plan=plan,
            duration=until - paid_end,
            state=G.QUEUED,
            note=GRACE_NOTE,
            starts_at=None if live else paid_end,
        )
    )
    live, more_finished = _layout(live, now)
    _sync_subscription(user, live, now)
    _save(live, [*finished, *more_finished], now)
    return True


def entitlement_grace_settle(*, user: User, payment: Payment, plan: Plan, now: datetime) -> bool:
    """The retried renewal was paid: the grace grant becomes that payment's grant (its period starts at the
    paid end, where the grace started). Returns True if there was one. Caller holds a transaction."""
    live, finished = _layout(_lock_chain(user, now), now)
    grace = next((grant for grant in live if _is_grace(grant)), None)
    if grace is None:
        return False
    grace.payment = payment
    grace.plan = plan
    grace.duration = plan_duration(plan)
    grace.note = ""
    live, more_finished = _layout(live, now)
    _sync_subscription(user, live, now)
    _save(live, [*finished, *more_finished], now)
    Grant.objects.filter(pk=grace.pk).update(payment=payment, plan=plan)
    return True


def entitlement_grace_end(*, user: User, now: datetime) -> bool:
    """No renewal came: the loan ends now (what was paid has already run out). Caller holds a transaction."""
    chain = _lock_chain(user, now)
    grace = [grant for grant in chain if _is_grace(grant)]
    if not grace:
        return False
    for grant in grace:
        if grant.starts_at is not None and grant.starts_at <= now:
            grant.ends_at = min(grant.ends_at or now, now)
        else:
            grant.starts_at = grant.ends_at = None
    live, finished = _layout([grant for grant in chain if not _is_grace(grant)], now)
    _sync_subscription(user, live, now)
    _save(live, [*grace, *finished], now)
    return True
