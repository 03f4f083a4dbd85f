"""Property test: random sequences of time passing, failing debits, user revocation, pause/unpause,
turn-off, crashes, duplicate renewal steps and PhonePe answering 503 (to the debit or to the order status,
for a step; the job then runs again, as its retry would), against the simulator. After every step:

* at most one successful charge per (mandate, cycle), and every debit PhonePe took is recorded once;
* successful payments = the setup charge + succeeded renewals, each with exactly one grant of its own, or
  (a debit confirmed after Autopay was turned off) none and a refund;
* the paid end (the end of the paid grants) never moves earlier;
* autoRenew is true exactly when the mandate will renew.

Bounded and derandomized, so CI stays fast and repeatable.
"""

import contextlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import UserFactory
from autopay import renewals
from autopay.models import Mandate, MandateState, Renewal, RenewalState
from autopay.services import mandate_sync, mandate_turn_off
from payments.models import Payment, PaymentStatus, Refund
from payments.phonepe.client import PhonePeError
from subscriptions.models import Grant, Subscription

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ACTIONS = st.one_of(
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=96)),
    st.tuples(st.just("fail_next"), st.integers(min_value=1, max_value=3)),
    st.tuples(st.just("advance_twice"), st.just(0)),  # two workers (or a re-run) on the same step
    st.tuples(st.sampled_from(["revoke", "pause", "unpause", "turn_off"]), st.just(0)),
    st.tuples(st.sampled_from(["redeem_down", "status_down"]), st.integers(min_value=1, max_value=3)),
)
FAULTS = {"redeem_down": "redeem", "status_down": "subscription_order_status"}


def _paid_end(user):
    ends = (
        Grant.objects.filter(user=user, payment__isnull=False)
        .exclude(state="revoked")
        .values_list("ends_at", flat=True)
    )
    return max((end for end in ends if end is not None), default=None)


def _check(user, mandate, autopay_sim, last_paid_end):
    mandate.refresh_from_db()
    succeeded = Renewal.objects.filter(mandate=mandate, state=RenewalState.SUCCEEDED)
    cycles = list(succeeded.values_list("cycle", flat=True))
    assert len(cycles) == len(set(cycles))
    taken = [
        order
        for order in autopay_sim.redemptions()
        if order.state == "COMPLETED" and order.merchant_subscription_id == mandate.merchant_subscription_id
    ]
    assert len(taken) == succeeded.count()  # every rupee PhonePe debited is in our books, once
    assert {order.merchant_order_id for order in taken} == set(succeeded.values_list("merchant_order_id", flat=True))
    payments = Payment.objects.filter(user=user, status=PaymentStatus.SUCCESS)
    assert payments.count() == 1 + succeeded.count()
    for payment in payments:
        grants = Grant.objects.filter(payment=payment, continues__isnull=True).count()
        if payment.refund_reason:  # taken after Autopay was turned off: refunded, granting nothing
            assert grants == 0
            assert Refund.objects.filter(payment=payment).exclude(status="failed").exists()
        else:
            assert grants == 1
    paid_end = _paid_end(user)
    assert last_paid_end is None or paid_end >= last_paid_end
    if mandate.subscription_id:
        subscription = Subscription.objects.get(pk=mandate.subscription_id)
        if subscription.status == "active":
            assert subscription.auto_renew == mandate.will_renew
    return paid_end


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(ACTIONS, min_size=3, max_size=12))
def test_random_renewal_histories_keep_the_money_rules(
    actions, plans, simulator, make_auth_client, turn_on, autopay_sim
):
    user = UserFactory()
    client = make_auth_client(user)
    mandate = turn_on(client)
    autopay_sim.approve(mandate)
    mandate_sync(now=timezone.now(), mandate_id=mandate.pk)
    now = Subscription.objects.get(user=user, status="active").end_date - timedelta(hours=49)
    paid_end = _check(user, mandate, autopay_sim, None)

    for action, value in actions:
        now += timedelta(hours=13)  # time always passes between steps (the job runs about twice a day here)
        if action == "wait":
            now += timedelta(hours=value)
        with time_machine.travel(now, tick=False):
            if action == "wait":
                pass  # only time passes; the job step below runs at the new time
            elif action == "fail_next":
                autopay_sim.control(mandate, "fail-next-debit", {"count": value})
            elif action == "advance_twice":
                for _ in range(2):
                    if Mandate.objects.get(pk=mandate.pk).state in (MandateState.ACTIVE, MandateState.PAUSED):
                        renewals.renewal_advance(now=timezone.now(), mandate_id=mandate.pk)
            elif action == "turn_off":
                if Mandate.objects.filter(pk=mandate.pk, state__in=["active", "paused"]).exists():
                    mandate_turn_off(now=timezone.now(), user=user)
            elif action in FAULTS:
                autopay_sim.sim.post("/simulator/faults", {"operation": FAULTS[action], "status": 503, "count": value})
                with contextlib.suppress(PhonePeError):  # the job fails; procrastinate runs it again
                    renewals.renewal_advance(now=timezone.now(), mandate_id=mandate.pk)
                with autopay_sim.sim.server.state.lock:
                    autopay_sim.sim.server.state.faults.clear()  # PhonePe answers again
            else:
                response = autopay_sim.sim.post(f"/simulator/subscriptions/{mandate.merchant_subscription_id}/{action}")
                assert response.status_code in (200, 409)  # 409: not applicable in the current state
                mandate_sync(now=timezone.now(), mandate_id=mandate.pk)
            renewals.renewal_advance(now=timezone.now(), mandate_id=mandate.pk)
            paid_end = _check(user, mandate, autopay_sim, paid_end)
    event(f"renewals charged: {Renewal.objects.filter(mandate=mandate, state=RenewalState.SUCCEEDED).count()}")
    event(f"mandate ended {Mandate.objects.get(pk=mandate.pk).state}")
