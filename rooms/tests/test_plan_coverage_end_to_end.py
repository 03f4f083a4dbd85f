"""An add-on whose rooms the user's plan already opens, end to end (docs/payments.md rule 3, docs/rooms.md "Access").

Premium covers both AR tiers, so `ar_premier` / `ar_plus` bought during Premium (or lifetime) give nothing new:
refused at creation, and when paid anyway (an order opened before the plan, paid after it) refunded in full,
never pausing Premium. Our API in a live server, the PhonePe simulator calling its webhook: real HTTP both ways.
"""

import pytest
from django.utils import timezone

from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.tests.checkout import checkout_create, checkout_pay
from payments.tests.conftest import live_simulator, plans, simulator  # noqa: F401 (fixtures)
from rooms.models import RoomSession
from subscriptions.models import Grant, GrantState, Subscription
from subscriptions.selectors import subscription_get_active

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SESSIONS = "/api/v1/themed-rooms/sessions"
PREMIER_THEME, PLUS_THEME = "sakura", "himalaya"


def _rooms_open(client):
    """Start (and end) a session in a premier and a plus theme; the status codes of the starts."""
    codes = []
    for theme in (PREMIER_THEME, PLUS_THEME):
        response = client.post(SESSIONS, {"themeId": theme}, format="json")
        codes.append(response.status_code)
        if response.status_code == 201:
            session_id = response.json()["data"]["id"]
            assert client.patch(f"{SESSIONS}/{session_id}/end", {}, format="json").status_code == 200
    return codes


@pytest.mark.parametrize("held", ["premium_yearly", "anytimebuddy_lifetime"])
@pytest.mark.parametrize("add_on", ["ar_premier", "ar_plus"])
def test_an_ar_add_on_during_premium_is_refused_at_creation_and_writes_nothing(
    live_simulator,  # noqa: F811
    plans,  # noqa: F811
    themes,
    buyer,
    held,
    add_on,
):
    user, client = buyer
    checkout_pay(live_simulator, checkout_create(client, held))
    payments_before = Payment.objects.count()

    response = client.post("/api/v1/payments/create", {"planId": add_on}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "plan_not_purchasable"
    assert "already" in body["message"]
    assert Payment.objects.count() == payments_before
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == held
    assert _rooms_open(client) == [201, 201]


@pytest.mark.parametrize("held", ["premium_yearly", "anytimebuddy_lifetime"])
def test_an_ar_add_on_paid_after_premium_is_refunded_and_premium_rooms_stay_open(
    live_simulator,  # noqa: F811
    plans,  # noqa: F811
    themes,
    buyer,
    held,
):
    user, client = buyer
    add_on = checkout_create(client, "ar_premier")  # ordered while the user held nothing: accepted
    premium = checkout_create(client, held)
    checkout_pay(live_simulator, premium)
    grant = Grant.objects.get(payment_id=premium["id"])
    assert _rooms_open(client) == [201, 201]

    checkout_pay(live_simulator, add_on)  # PhonePe takes ₹99 for rooms Premium already opens

    # Premium is not paused: the same grant runs, with the same end, and every room tier stays open.
    grant_after = Grant.objects.get(payment_id=premium["id"])
    assert (grant_after.state, grant_after.ends_at) == (GrantState.CURRENT, grant.ends_at)
    assert not Grant.objects.filter(payment_id=add_on["id"]).exists()
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == held
    assert Subscription.objects.filter(user=user).count() == 1
    assert _rooms_open(client) == [201, 201]
    # The ₹99 goes back, automatically and in full, with a reason the user can read.
    refund = Refund.objects.get(payment_id=add_on["id"])
    assert (refund.automatic, refund.amount_paise) == (True, 9900)
    assert refund.merchant_refund_id in live_simulator.server.state.refunds
    read = client.get(f"/api/v1/payments/{add_on['transactionId']}").json()["data"]
    assert "already" in read["refundReason"]

    live_simulator.finish_refund(refund.merchant_refund_id)

    assert Payment.objects.get(pk=add_on["id"]).status == PaymentStatus.REFUNDED
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.COMPLETED
    assert Grant.objects.get(payment_id=premium["id"]).state == GrantState.CURRENT
    assert _rooms_open(client) == [201, 201]
    assert RoomSession.objects.filter(user=user).count() == 6


def test_an_ar_plus_upgrade_from_ar_premier_still_starts_now(
    live_simulator,  # noqa: F811
    plans,  # noqa: F811
    themes,
    buyer,
):
    """The shared definition only refuses what gives nothing new: a plan that opens a new tier still starts now."""
    user, client = buyer
    checkout_pay(live_simulator, checkout_create(client, "ar_premier"))
    assert _rooms_open(client) == [201, 403]

    checkout_pay(live_simulator, checkout_create(client, "ar_plus"))

    assert subscription_get_active(now=timezone.now(), user=user).plan.code == "ar_plus"
    assert _rooms_open(client) == [201, 201]
    assert not Refund.objects.exists()
