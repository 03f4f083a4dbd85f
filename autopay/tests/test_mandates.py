"""Autopay setup, confirmation, the user's controls and mandate callbacks, end to end:
our API in a live server, the simulator calling its webhook (real HTTP both ways)."""

from datetime import timedelta

import pytest
import requests
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from autopay.models import Mandate, MandateState
from autopay.tests.conftest import AUTOPAY
from payments.models import Payment, PaymentStatus, WebhookEvent
from subscriptions.models import Subscription
from subscriptions.selectors import subscription_get_active

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def patient(make_auth_client):
    user = UserFactory()
    return user, make_auth_client(user)


def _current(client):
    return client.get("/api/v1/subscriptions/current").json()["subscription"]


def test_setup_answers_the_checkout_and_activates_only_after_phonepe_confirms(
    live_simulator, plans, patient, turn_on, autopay_sim
):
    user, client = patient
    response = client.post(AUTOPAY, {"planId": "premium_monthly"}, format="json")
    assert response.status_code == 201
    body = response.json()
    data = body["data"]
    assert body["redirectUrl"] == data["redirectUrl"]
    assert data["state"] == "activation_in_progress"
    assert data["autoRenew"] is False
    assert (data["frequency"], data["amountPaise"], data["maxAmountPaise"]) == ("MONTHLY", 29900, 29900)
    page = requests.get(data["redirectUrl"], timeout=10)
    assert "Approve mandate" in page.text
    assert "MONTHLY" in page.text
    assert subscription_get_active(now=timezone.now(), user=user) is None

    mandate = Mandate.objects.get(pk=data["id"])
    autopay_sim.approve(mandate)

    mandate.refresh_from_db()
    assert mandate.state == MandateState.ACTIVE
    assert mandate.gateway_subscription_id.startswith("OMS")
    payment = Payment.objects.get(pk=mandate.setup_payment_id)
    assert payment.status == PaymentStatus.SUCCESS  # the first charge is part of the setup
    subscription = subscription_get_active(now=timezone.now(), user=user)
    assert mandate.subscription_id == subscription.pk
    assert subscription.end_date - subscription.start_date == timedelta(days=30)
    current = _current(client)
    assert current["autoRenew"] is True
    assert current["status"] == "active"

    seen = client.get(AUTOPAY).json()["mandate"]
    assert seen["state"] == "active"
    assert seen["autoRenew"] is True
    assert seen["nextDebitAmountPaise"] == 29900
    assert seen["redirectUrl"] is None
    expected_debit = subscription.end_date - timedelta(hours=24)
    assert seen["nextDebitAt"] == expected_debit.isoformat().replace("+00:00", "Z")
    assert AuditLog.objects.filter(action="autopay.turn_on", resource_id=str(mandate.pk), actor=user).exists()
    moves = AuditLog.objects.filter(action="autopay.mandate_state", resource_id=str(mandate.pk))
    assert [row.changes["after"]["state"] for row in moves] == ["active"]
    assert {"checkout.order.completed", "subscription.setup.order.completed"} <= set(autopay_sim.webhook_events())


def test_a_callback_alone_activates_nothing(live_simulator, plans, patient, turn_on, autopay_sim):
    user, client = patient
    mandate = turn_on(client)
    # A verified but lying callback: PhonePe still says ACTIVATION_IN_PROGRESS.
    autopay_sim.control(mandate, "callback", {"event": "subscription.setup.order.completed", "state": "ACTIVE"})
    mandate.refresh_from_db()
    assert mandate.state == MandateState.ACTIVATION_IN_PROGRESS
    assert subscription_get_active(now=timezone.now(), user=user) is None
    assert not AuditLog.objects.filter(action="autopay.mandate_state").exists()
    event = WebhookEvent.objects.get(event="subscription.setup.order.completed")
    assert event.outcome == "already_applied"


def test_declined_setup_fails_the_mandate_and_grants_nothing(live_simulator, plans, patient, turn_on, autopay_sim):
    user, client = patient
    mandate = turn_on(client)
    autopay_sim.approve(mandate, "FAILED")
    mandate.refresh_from_db()
    assert mandate.state == MandateState.FAILED
    assert Payment.objects.get(pk=mandate.setup_payment_id).status == PaymentStatus.FAILED
    assert subscription_get_active(now=timezone.now(), user=user) is None
    assert client.get(AUTOPAY).json()["mandate"]["autoRenew"] is False


def test_turn_off_cancels_at_phonepe_and_keeps_the_paid_period(live_simulator, plans, patient, turn_on, autopay_sim):
    user, client = patient
    mandate = turn_on(client)
    autopay_sim.approve(mandate)
    end_date = subscription_get_active(now=timezone.now(), user=user).end_date

    response = client.delete(AUTOPAY)

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["state"] == "cancelled"
    assert data["autoRenew"] is False
    assert data["nextDebitAt"] is None
    assert autopay_sim.subscription(mandate).state == "CANCELLED"
    subscription = subscription_get_active(now=timezone.now(), user=user)
    assert subscription.end_date == end_date  # access to the end of what was paid
    assert _current(client)["autoRenew"] is False
    assert AuditLog.objects.filter(action="autopay.turn_off", actor=user, resource_id=str(mandate.pk)).exists()
    again = client.delete(AUTOPAY)
    assert again.status_code == 404
    assert again.json()["code"] == "autopay_not_found"


def test_turn_on_again_is_a_new_setup(live_simulator, plans, patient, turn_on, autopay_sim):
    user, client = patient
    first = turn_on(client)
    autopay_sim.approve(first)
    assert client.post(AUTOPAY, {"planId": "premium_monthly"}, format="json").json()["code"] == "autopay_already_on"
    client.delete(AUTOPAY)

    second = turn_on(client)
    assert second.pk != first.pk
    assert second.merchant_subscription_id != first.merchant_subscription_id
    autopay_sim.approve(second)
    second.refresh_from_db()
    first.refresh_from_db()
    assert (first.state, second.state) == (MandateState.CANCELLED, MandateState.ACTIVE)
    subscription = subscription_get_active(now=timezone.now(), user=user)
    assert subscription.end_date - subscription.start_date == timedelta(days=60)  # second charge appended
    assert _current(client)["autoRenew"] is True


def test_revoked_from_the_upi_app_stops_renewal_and_keeps_access(live_simulator, plans, patient, turn_on, autopay_sim):
    user, client = patient
    mandate = turn_on(client)
    autopay_sim.approve(mandate)
    end_date = subscription_get_active(now=timezone.now(), user=user).end_date

    autopay_sim.control(mandate, "revoke")

    mandate.refresh_from_db()
    assert mandate.state == MandateState.REVOKED
    assert mandate.end_reason == "PhonePe reports REVOKED"
    assert subscription_get_active(now=timezone.now(), user=user).end_date == end_date
    assert _current(client)["autoRenew"] is False


def test_pause_and_unpause_follow_phonepe(live_simulator, plans, patient, turn_on, autopay_sim):
    _user, client = patient
    mandate = turn_on(client)
    autopay_sim.approve(mandate)
    autopay_sim.control(mandate, "pause")
    mandate.refresh_from_db()
    assert mandate.state == MandateState.PAUSED
    assert _current(client)["autoRenew"] is False
    autopay_sim.control(mandate, "unpause")
    mandate.refresh_from_db()
    assert mandate.state == MandateState.ACTIVE
    assert _current(client)["autoRenew"] is True


def test_duplicate_and_stale_callbacks_change_nothing(live_simulator, plans, patient, turn_on, autopay_sim):
    user, client = patient
    mandate = turn_on(client)
    autopay_sim.approve(mandate)
    before = Subscription.objects.get(user=user).end_date
    for event in ("subscription.setup.order.completed", "subscription.setup.order.failed", "subscription.cancelled"):
        autopay_sim.control(mandate, "callback", {"event": event})
        autopay_sim.control(mandate, "callback", {"event": event})
    mandate.refresh_from_db()
    assert mandate.state == MandateState.ACTIVE
    assert Subscription.objects.get(user=user).end_date == before
    assert Payment.objects.filter(user=user).count() == 1
    assert WebhookEvent.objects.filter(event="subscription.cancelled").count() == 1


def test_callbacks_for_unknown_mandates_are_acknowledged(live_simulator, plans, post_callback):
    response = post_callback(
        {"event": "subscription.revoked", "payload": {"merchantSubscriptionId": "MS_nobody", "state": "REVOKED"}}
    )
    assert response.status_code == 200
    assert WebhookEvent.objects.get(event="subscription.revoked").outcome == "unknown_order"


def test_only_monthly_and_yearly_plans_renew(live_simulator, plans, patient):
    _user, client = patient
    for plan_id in ("anytimebuddy_lifetime", "track_single", "healer_free"):
        response = client.post(AUTOPAY, {"planId": plan_id}, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "plan_not_renewable"
    assert not Mandate.objects.exists()
    assert not Payment.objects.exists()
    assert client.get(AUTOPAY).json()["data"] is None


def test_gateway_down_at_setup_is_502_and_leaves_nothing_live(live_simulator, plans, patient):
    user, client = patient
    live_simulator.post("/simulator/faults", {"operation": "pay", "status": 503, "count": 5})
    response = client.post(AUTOPAY, {"planId": "premium_yearly"}, format="json")
    assert response.status_code == 502
    assert response.json()["code"] == "gateway_unavailable"
    mandate = Mandate.objects.get(user=user)
    assert mandate.state == MandateState.FAILED
    assert Payment.objects.get(pk=mandate.setup_payment_id).status == PaymentStatus.FAILED
    assert subscription_get_active(now=timezone.now(), user=user) is None


def test_the_database_refuses_to_revive_an_ended_mandate(live_simulator, plans, patient, turn_on, autopay_sim):
    _user, client = patient
    mandate = turn_on(client)
    autopay_sim.approve(mandate)
    client.delete(AUTOPAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        Mandate.objects.filter(pk=mandate.pk).update(state=MandateState.ACTIVE)
    mandate.refresh_from_db()
    assert mandate.state == MandateState.CANCELLED


def test_another_users_mandate_is_invisible(live_simulator, plans, patient, turn_on, make_auth_client, autopay_sim):
    _user, client = patient
    mandate = turn_on(client)
    autopay_sim.approve(mandate)
    stranger = make_auth_client(UserFactory())
    assert stranger.get(AUTOPAY).json()["data"] is None
    assert stranger.delete(AUTOPAY).status_code == 404
    mandate.refresh_from_db()
    assert mandate.state == MandateState.ACTIVE


def test_a_first_charge_that_buys_nothing_is_refunded_and_autopay_turned_off(
    live_simulator, plans, patient, turn_on, autopay_sim, create_payment
):
    from autopay.renewals import renewal_advance

    user, client = patient
    mandate = turn_on(client)  # premium monthly, checkout still open
    lifetime = create_payment(client, "anytimebuddy_lifetime")  # bought in another tab meanwhile
    live_simulator.complete(lifetime["transactionId"])
    autopay_sim.approve(mandate)  # the monthly setup completes after the lifetime plan

    payment = Payment.objects.get(pk=mandate.setup_payment_id)
    assert payment.status == PaymentStatus.SUCCESS
    assert payment.refund_reason  # the ledger refunds what buys nothing new
    assert payment.refunds.exists()
    mandate.refresh_from_db()
    assert mandate.state == MandateState.ACTIVE
    assert mandate.cancel_requested_at is not None
    assert client.get(AUTOPAY).json()["mandate"]["autoRenew"] is False

    assert renewal_advance(now=timezone.now(), mandate_id=mandate.pk) == "cancel_retried"  # what the next job run does
    mandate.refresh_from_db()
    assert mandate.state == MandateState.CANCELLED
    assert autopay_sim.subscription(mandate).state == "CANCELLED"
    assert subscription_get_active(now=timezone.now(), user=user).plan.code == "anytimebuddy_lifetime"


def test_lost_setup_callbacks_are_made_up_for_by_the_job(simulator, plans, patient, turn_on, autopay_sim):
    from autopay.renewals import mandates_due, renewal_advance

    user, client = patient
    mandate = turn_on(client)
    autopay_sim.approve(mandate)  # no callback URL: PhonePe's callbacks never arrive
    mandate.refresh_from_db()
    assert mandate.state == MandateState.ACTIVATION_IN_PROGRESS
    assert mandate.pk not in mandates_due(now=timezone.now())  # too early to ask
    Mandate.objects.filter(pk=mandate.pk).update(created_at=mandate.created_at - timedelta(minutes=6))
    assert mandate.pk in mandates_due(now=timezone.now())

    assert renewal_advance(now=timezone.now(), mandate_id=mandate.pk) == "setup_checked"

    mandate.refresh_from_db()
    assert mandate.state == MandateState.ACTIVE
    assert Payment.objects.get(pk=mandate.setup_payment_id).status == PaymentStatus.SUCCESS
    assert subscription_get_active(now=timezone.now(), user=user).auto_renew is True
    assert mandate.pk not in mandates_due(now=timezone.now())


def test_turn_off_while_phonepe_is_down_is_502_but_nothing_renews(simulator, plans, patient, turn_on, autopay_sim):
    from autopay.renewals import mandates_due, renewal_advance
    from autopay.services import mandate_sync

    user, client = patient
    mandate = turn_on(client)
    autopay_sim.approve(mandate)
    mandate_sync(now=timezone.now(), mandate_id=mandate.pk)
    simulator.post("/simulator/faults", {"operation": "subscription_cancel", "status": 503, "count": 1})

    response = client.delete(AUTOPAY)

    assert response.status_code == 502
    assert response.json()["code"] == "gateway_unavailable"
    mandate.refresh_from_db()
    assert mandate.cancel_requested_at is not None
    assert mandate.will_renew is False
    assert subscription_get_active(now=timezone.now(), user=user).auto_renew is False
    assert autopay_sim.subscription(mandate).state == "ACTIVE"
    assert mandate.pk in mandates_due(now=timezone.now())
    assert renewal_advance(now=timezone.now(), mandate_id=mandate.pk) == "cancel_retried"  # the job finishes it
    mandate.refresh_from_db()
    assert mandate.state == MandateState.CANCELLED
    assert autopay_sim.subscription(mandate).state == "CANCELLED"
