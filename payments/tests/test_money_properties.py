"""Property-based test of the money rules (docs/payments.md): random sequences of purchases, gateway outcomes
in any order, early, late and duplicate callbacks, status reads, refunds, cancellations and clock jumps,
against the PhonePe simulator, with the invariants checked after every step.

Bounded and reproducible: a fixed number of examples, derandomized (a fixed seed), so CI runs the same
sequences every time. `HYPOTHESIS_EXPLORE=1` (optionally with `HYPOTHESIS_MAX_EXAMPLES=500`) searches
randomly instead, for local hunting.
"""

import contextlib
import itertools
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.tests.factories import AdminFactory, UserFactory
from manas360.api.errors import ApplicationError
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.phonepe.callback import callback_authorization
from payments.services import (
    payment_create,
    payment_reconcile,
    payment_refund,
    payment_webhook_process,
    refunds_retry,
)
from subscriptions.coverage import features_covered_by
from subscriptions.models import LIVE_GRANT_STATES, Grant, GrantState, Plan, Subscription, SubscriptionStatus
from subscriptions.services import parked_time_refund, subscription_cancel, subscriptions_expire

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PLANS = ["premium_monthly", "premium_yearly", "anytimebuddy_lifetime", "track_single", "ar_premier", "ar_plus"]
FOREVER = datetime.max.replace(tzinfo=UTC)
EXPLORE = bool(os.environ.get("HYPOTHESIS_EXPLORE"))

index = st.sampled_from([0, 0, 0, 1, 2, 3])  # 0 = the latest payment, 1 the one before, ...
plan = st.sampled_from(PLANS)
callback = st.tuples(st.just("callback"), index, st.sampled_from(["COMPLETED", "COMPLETED", "FAILED"]))
read = st.tuples(st.just("read"), index)
refund = st.tuples(st.just("refund"), index)
refund_outcome = st.tuples(st.just("refund_outcome"), index, st.sampled_from(["COMPLETED", "COMPLETED", "FAILED"]))
buy = st.tuples(st.just("buy"), plan)  # create, then paid at PhonePe; we hear of it later, or never
# Weighted by repetition: purchases and what we hear of them are most of real traffic.
step = st.one_of(
    buy,
    buy,
    buy,
    st.tuples(st.just("create"), plan),
    st.tuples(st.just("gateway"), index, st.sampled_from(["COMPLETED", "FAILED"])),
    callback,
    callback,
    callback,
    read,
    read,
    read,
    refund,
    refund,
    refund_outcome,
    refund_outcome,
    st.tuples(st.just("cancel"), st.booleans()),
    st.tuples(st.just("jump"), st.sampled_from([timedelta(hours=1), timedelta(days=10), timedelta(days=40)])),
    st.tuples(st.just("sweep")),
)


class World:
    """One user's purchases against the simulator; callbacks are delivered by the steps, not by the simulator."""

    def __init__(self, simulator, admin, capture):
        self.simulator = simulator
        self.admin = admin
        self.capture = capture
        self.user = UserFactory()
        self.payments: list[Payment] = []
        self.signature = callback_authorization(
            django_settings.PHONEPE_WEBHOOK_USERNAME, django_settings.PHONEPE_WEBHOOK_PASSWORD
        )

    def payment(self, position):
        if not self.payments:
            return None
        return Payment.objects.get(pk=self.payments[-1 - position % len(self.payments)].pk)

    def webhook(self, body):
        # A 503 when the status API is unreachable: PhonePe would deliver it again.
        with contextlib.suppress(ApplicationError):
            payment_webhook_process(
                now=timezone.now(), raw_body=json.dumps(body).encode(), authorization=self.signature
            )

    def run(self, action):
        kind = action[0]
        with self.capture(execute=True):  # after-commit work (sending refunds) runs as in production
            getattr(self, f"do_{kind}")(*action[1:])

    def do_create(self, plan_code):
        try:
            creation = payment_create(now=timezone.now(), user=self.user, plan_identifier=plan_code)
        except ApplicationError:
            return  # refused at creation (409 plan_not_purchasable)
        self.payments.append(creation.payment)

    def do_buy(self, plan_code):
        count = len(self.payments)
        self.do_create(plan_code)
        if len(self.payments) > count:
            self.do_gateway(0, "COMPLETED")

    def do_gateway(self, position, state):
        payment = self.payment(position)
        if payment is not None:
            self.simulator.post(f"/simulator/orders/{payment.merchant_order_id}/complete", {"state": state})

    def do_callback(self, position, claimed_state):
        payment = self.payment(position)
        order = payment and self.simulator.order(payment.merchant_order_id)
        if order is None:
            return
        event = "checkout.order.completed" if claimed_state == "COMPLETED" else "checkout.order.failed"
        payload = {"merchantOrderId": payment.merchant_order_id, "orderId": order.order_id, "state": claimed_state}
        self.webhook({"event": event, "payload": {**payload, "amount": order.amount}})

    def do_read(self, position):
        payment = self.payment(position)
        if payment is not None:
            payment_reconcile(now=timezone.now(), payment_id=payment.pk)

    def do_refund(self, position):
        payment = self.payment(position)
        if payment is None:
            return
        # Refused when not refundable, already in progress, or when the gateway says no.
        with contextlib.suppress(ApplicationError):
            payment_refund(now=timezone.now(), payment_id=payment.pk, actor=self.admin, reason="property test")

    def do_refund_outcome(self, position, state):
        payment = self.payment(position)
        refund = payment and payment.refunds.exclude(sent_at=None).order_by("-created_at").first()
        if refund is None:
            return
        self.simulator.server.finish_refund(refund.merchant_refund_id, state)
        self.webhook(
            {
                "event": "pg.refund.completed" if state == "COMPLETED" else "pg.refund.failed",
                "payload": {
                    "merchantRefundId": refund.merchant_refund_id,
                    "originalMerchantOrderId": payment.merchant_order_id,
                    "state": state,
                    "amount": refund.amount_paise,
                },
            }
        )

    def do_cancel(self, immediate):
        active = Subscription.objects.filter(user=self.user, status=SubscriptionStatus.ACTIVE).first()
        if active is not None:
            # Refused when already cancelled, or lapsed.
            with contextlib.suppress(ApplicationError):
                subscription_cancel(
                    now=timezone.now(), subscription_id=active.pk, actor=self.admin, immediate=immediate
                )

    def do_jump(self, delta):
        self.traveller.shift(delta)

    def do_sweep(self):
        subscriptions_expire(now=timezone.now())
        parked_time_refund()
        refunds_retry(now=timezone.now())


def access_end(user, now) -> datetime:
    """Until when the user's live grants give access (never before now: time passing is not a loss)."""
    ends = list(Grant.objects.filter(user=user, state__in=LIVE_GRANT_STATES).values_list("ends_at", flat=True))
    if any(end is None for end in ends):
        return FOREVER
    return max([now, *ends])


def check_invariants(world: World, before: dict, action, now) -> dict:
    user = world.user
    payments = {p.pk: p for p in Payment.objects.filter(user=user)}
    # One active subscription, one current grant.
    assert Subscription.objects.filter(user=user, status=SubscriptionStatus.ACTIVE).count() <= 1
    assert Grant.objects.filter(user=user, state=GrantState.CURRENT).count() <= 1
    # Live grants are laid back to back, in order.
    live = list(Grant.objects.filter(user=user, state__in=LIVE_GRANT_STATES).order_by("position"))
    for previous, following in itertools.pairwise(live):
        assert following.starts_at == previous.ends_at
    for payment in payments.values():
        grants = Grant.objects.filter(payment=payment)
        open_or_done = payment.refunds.filter(
            status__in=[RefundStatus.PENDING, RefundStatus.CONFIRMED, RefundStatus.COMPLETED]
        )
        # Refunds never exceed the amount paid.
        assert (open_or_done.aggregate(total=Sum("amount_paise"))["total"] or 0) <= payment.amount_paise
        # No payment is both refunded and granting.
        if payment.status == PaymentStatus.REFUNDED:
            assert not grants.filter(state__in=LIVE_GRANT_STATES).exists()
            assert payment.refunds.filter(status=RefundStatus.COMPLETED).count() == 1
        # Every non-refunded success maps to a grant, or is being refunded for a reason the user can read.
        if payment.status == PaymentStatus.SUCCESS:
            assert grants.exists() or payment.refund_reason
            if grants.exists() and payment.refund_reason:
                # Granted, then its time was parked behind a lifetime plan (rule 6): the money is going back.
                assert payment.refunds.exists()
                assert "for life" in payment.refund_reason
        # Time parked behind a lifetime grant never stays paid for: its payment is refunded or being refunded.
        for parked in grants.filter(state=GrantState.QUEUED, starts_at__isnull=True):
            assert payment.status == PaymentStatus.REFUNDED or payment.refunds.exists(), (action, parked)
        if payment.status in (PaymentStatus.PENDING, PaymentStatus.FAILED):
            assert not grants.exists()

    end = access_end(user, now)
    newly_succeeded = [
        pk for pk, p in payments.items() if p.status == "success" and before["status"].get(pk) != "success"
    ]
    newly_refunded = [
        pk for pk, p in payments.items() if p.status == "refunded" and before["status"].get(pk) != "refunded"
    ]
    immediate_cancel = action[0] == "cancel" and action[1]
    head = Grant.objects.filter(user=user, state=GrantState.CURRENT).select_related("plan").first()
    held = before.get("head")
    if held is not None and (held["ends_at"] is None or held["ends_at"] > now):
        for pk in newly_succeeded:
            bought = Plan.objects.get(code=payments[pk].product_ref)
            if bought.duration_days is not None and features_covered_by(bought) <= held["covers"]:
                # A period of a plan the running one already covers never pauses it (nor closes a room tier
                # it opens): it is added after it, or refunded. (Lifetime of the same features gives more.)
                assert head is not None, (action, bought.code)
                assert head.pk == held["pk"], (action, bought.code)
    if newly_refunded:
        # A refund of payment X changes access by at most X's period.
        allowed = timedelta(0)
        for pk in newly_refunded:
            days = Plan.objects.get(code=payments[pk].product_ref).duration_days
            allowed = None if days is None or allowed is None else allowed + timedelta(days=days)
        if allowed is not None and before["end"] != FOREVER:
            assert before["end"] - end <= allowed
    elif not immediate_cancel:
        # A success (or anything else) never moves the access end earlier.
        assert end >= before["end"], (action, newly_succeeded)
    # What the sequences reach (see --hypothesis-show-statistics).
    for label, reached in (
        ("automatic refund decided", any(p.refund_reason for p in payments.values())),
        ("refund completed", bool(newly_refunded)),
        ("unused time resumes after a better plan", Grant.objects.filter(user=user, continues__isnull=False).exists()),
        ("period queued", Grant.objects.filter(user=user, state=GrantState.QUEUED).exists()),
        ("time parked behind a lifetime plan", Grant.objects.filter(user=user, starts_at__isnull=True).exists()),
    ):
        if reached:
            event(label)
    if action[0] == "sweep":
        # Once swept, the Subscription the API shows is the head of the grants.
        head = next((g for g in live if g.state == GrantState.CURRENT), None)
        active = Subscription.objects.filter(user=user, status=SubscriptionStatus.ACTIVE).first()
        if head is None or (head.ends_at is not None and head.ends_at <= now):
            assert active is None or active.has_lapsed(now)
        else:
            assert active is not None
            assert active.plan_id == head.plan_id
    return {
        "end": end,
        "status": {pk: p.status for pk, p in payments.items()},
        "head": head and {"pk": head.pk, "ends_at": head.ends_at, "covers": features_covered_by(head.plan)},
    }


@hypothesis_settings(
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "30")),
    derandomize=not EXPLORE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Always-run sequences (the random ones come on top): the paths the rules exist for.
@example(  # two lifetimes paid in two tabs, callbacks late and twice, the duplicate refunded
    opening=[("buy", "anytimebuddy_lifetime"), ("buy", "anytimebuddy_lifetime")],
    later=[
        ("callback", 1, "COMPLETED"),
        ("callback", 0, "COMPLETED"),
        ("callback", 0, "COMPLETED"),
        ("sweep",),
        ("refund_outcome", 0, "COMPLETED"),
        ("jump", timedelta(days=40)),
        ("sweep",),
    ],
)
@example(  # two months, the second refunded by an operator, the clock running past the first
    opening=[("buy", "premium_monthly"), ("buy", "premium_monthly")],
    later=[
        ("read", 1),
        ("read", 0),
        ("refund", 0),
        ("refund_outcome", 0, "COMPLETED"),
        ("jump", timedelta(days=10)),
        ("sweep",),
        ("jump", timedelta(days=40)),
        ("sweep",),
    ],
)
@example(  # an upgrade pauses the running plan; refunding the upgrade resumes it
    opening=[("buy", "ar_premier")],
    later=[
        ("read", 0),
        ("jump", timedelta(days=10)),
        ("buy", "ar_plus"),
        ("callback", 0, "COMPLETED"),
        ("refund", 0),
        ("refund_outcome", 0, "COMPLETED"),
        ("sweep",),
        ("cancel", True),
        ("sweep",),
    ],
)
@example(  # an AR add-on ordered before a yearly plan, paid after it: refunded, the year never paused
    opening=[("create", "ar_premier"), ("buy", "premium_yearly")],
    later=[
        ("read", 0),
        ("gateway", 1, "COMPLETED"),
        ("callback", 1, "COMPLETED"),
        ("sweep",),
        ("refund_outcome", 1, "COMPLETED"),
        ("jump", timedelta(days=40)),
        ("sweep",),
    ],
)
@example(  # a yearly plan used for ten days, then a lifetime plan: the year's payment is refunded in full
    opening=[("buy", "premium_yearly")],
    later=[
        ("read", 0),
        ("jump", timedelta(days=10)),
        ("buy", "anytimebuddy_lifetime"),
        ("callback", 0, "COMPLETED"),
        ("sweep",),
        ("refund_outcome", 1, "COMPLETED"),
        ("refund", 0),
        ("refund_outcome", 0, "COMPLETED"),
        ("sweep",),
    ],
)
@given(opening=st.lists(buy, min_size=1, max_size=3), later=st.lists(step, min_size=3, max_size=24))
def test_money_rules_hold_over_random_sequences(
    opening, later, simulator, plans, settings, django_capture_on_commit_callbacks
):
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    settings.PAYMENT_RECONCILE_INTERVAL_SECONDS = 0
    admin = AdminFactory()
    simulator.server.callback_url = None  # the steps deliver callbacks, in any order
    world = World(simulator, admin, django_capture_on_commit_callbacks)
    with time_machine.travel(datetime(2031, 1, 1, tzinfo=UTC), tick=True) as traveller:
        world.traveller = traveller

        state = {"end": timezone.now(), "status": {}}
        for action in [*opening, *later]:
            world.run(action)
            state = check_invariants(world, state, action, timezone.now())


def test_the_property_test_sees_a_broken_rule(simulator, plans, settings, django_capture_on_commit_callbacks):
    """Guard against a vacuous property: revoking a grant without a refund must trip the checks."""

    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    world = World(simulator, AdminFactory(), django_capture_on_commit_callbacks)
    world.run(("create", "premium_monthly"))
    world.run(("gateway", 0, "COMPLETED"))
    state = check_invariants(world, {"end": timezone.now(), "status": {}}, ("read", 0), timezone.now())
    world.run(("read", 0))
    state = check_invariants(world, state, ("read", 0), timezone.now())
    assert Payment.objects.get().status == PaymentStatus.SUCCESS
    Grant.objects.filter(user=world.user).update(state=GrantState.REVOKED, revoked_at=timezone.now())
    with pytest.raises(AssertionError):
        check_invariants(world, state, ("read", 0), timezone.now())
    assert Refund.objects.count() == 0


# --- Purchases completed together: the money result does not depend on which completes first ---------------

premium = st.sampled_from(["premium_monthly", "premium_yearly"])
add_on = st.sampled_from(["ar_premier", "ar_plus", "track_single"])


@st.composite
def bought_together(draw):
    """Plans ordered before any is paid, and two orders in which PhonePe's successes reach us.

    Add-ons only come with a lifetime plan: without one, an add-on that completes before Premium keeps its time
    (it resumes after Premium, rule 2) while one that completes after is refused (rule 3), both of which give
    the user what they paid for."""
    lifetimes = draw(st.integers(min_value=0, max_value=2))
    codes = draw(st.lists(premium, max_size=3))
    if lifetimes:
        codes += draw(st.lists(add_on, max_size=2))
    codes += ["anytimebuddy_lifetime"] * lifetimes
    if not codes:
        codes = ["premium_monthly"]
    positions = list(range(len(codes)))
    return codes, draw(st.permutations(positions)), draw(st.permutations(positions))


def settle(world: World, codes, order) -> dict:
    """Order every plan, PhonePe takes every payment, then we hear of the successes in `order`."""
    for code in codes:
        world.run(("create", code))
    assert len(world.payments) == len(codes)  # nothing held yet: nothing refused at creation
    for payment in world.payments:
        world.simulator.post(f"/simulator/orders/{payment.merchant_order_id}/complete", {"state": "COMPLETED"})
    for position in order:
        with world.capture(execute=True):
            payment_reconcile(now=timezone.now(), payment_id=world.payments[position].pk)
    world.run(("sweep",))

    now = timezone.now()
    payments = list(Payment.objects.filter(user=world.user))
    assert all(p.status == PaymentStatus.SUCCESS for p in payments)
    refunding = {p.pk for p in payments if p.refunds.filter(automatic=True).exists()}
    current = Grant.objects.filter(user=world.user, state=GrantState.CURRENT).select_related("plan").get()
    return {
        "refunded": sorted(p.product_ref for p in payments if p.pk in refunding),
        "kept_paise": sum(p.amount_paise for p in payments if p.pk not in refunding),
        "access_end": access_end(world.user, now),
        "covers_now": features_covered_by(current.plan),
    }


@hypothesis_settings(
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "12")),
    derandomize=not EXPLORE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(together=(["premium_monthly", "anytimebuddy_lifetime"], [0, 1], [1, 0]))
@example(together=(["premium_yearly", "ar_premier", "anytimebuddy_lifetime"], [0, 1, 2], [2, 1, 0]))
@given(together=bought_together())
def test_purchases_completed_together_give_the_same_money_result_in_any_order(
    together, simulator, plans, settings, django_capture_on_commit_callbacks
):
    codes, first, second = together
    settings.PAYMENT_RECONCILE_AFTER_SECONDS = 0
    settings.PAYMENT_RECONCILE_INTERVAL_SECONDS = 0
    simulator.server.callback_url = None
    admin = AdminFactory()
    with time_machine.travel(datetime(2031, 1, 1, tzinfo=UTC), tick=False):
        one = settle(World(simulator, admin, django_capture_on_commit_callbacks), codes, first)
        other = settle(World(simulator, admin, django_capture_on_commit_callbacks), codes, second)
    assert one == other, (codes, first, second)
    # And the result is the rules' own: with a lifetime plan, the user pays for one lifetime plan and nothing
    # else (everything else is covered for life, or would wait behind it forever); without, every period is
    # kept, back to back.
    if "anytimebuddy_lifetime" in codes:
        assert one["kept_paise"] == plans["anytimebuddy_lifetime"].amount_paise
        assert one["access_end"] == FOREVER
        assert sorted([*one["refunded"], "anytimebuddy_lifetime"]) == sorted(codes)
    else:
        assert one["refunded"] == []
        days = sum(plans[code].duration_days for code in codes)
        assert one["access_end"] == datetime(2031, 1, 1, tzinfo=UTC) + timedelta(days=days)
