"""One mandate per user, decided at set-up (docs/autopay.md): a second set-up while one is live or waiting for
approval is refused with 409, and an approval PhonePe reports anyway for a mandate we will not keep is cancelled
at PhonePe and its first charge refunded, never a 500. End to end: our API in a live server, the simulator calling
its webhook (real HTTP both ways)."""

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuditLog, User
from accounts.tests.factories import UserFactory
from autopay import renewals
from autopay.models import Mandate, MandateState
from autopay.services import FREQUENCY_BY_PERIOD, mandate_sync, setup_checkout_create
from autopay.tests.conftest import AUTOPAY
from payments.fulfilment import product_for
from payments.models import Payment, PaymentStatus, Refund, WebhookEvent
from payments.phonepe.client import PhonePeUnavailable
from payments.services import payment_open, payment_record_gateway_order
from subscriptions.fulfilment import PLAN_PRODUCT
from subscriptions.selectors import subscription_get_active

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def patient(make_auth_client):
    user = UserFactory()
    return user, make_auth_client(user)


def _rows(user):
    return Mandate.objects.filter(user=user).count(), Payment.objects.filter(user=user).count()


def _callbacks_answered(autopay_sim, mandate):
    """(event, our HTTP answer) of every callback the simulator delivered about this mandate or its first charge."""
    ids = (mandate.merchant_subscription_id, mandate.setup_payment.merchant_order_id)
    return [
        (hook["event"], hook["status"])
        for hook in autopay_sim.sim.server.state.webhooks
        if any(value in json.dumps(hook["body"]) for value in ids)
    ]


def test_a_second_setup_for_another_plan_while_one_waits_for_approval_is_409(
    live_simulator, plans, patient, turn_on, autopay_sim
):
    user, client = patient
    first = turn_on(client, "premium_monthly")
    rows = _rows(user)

    response = client.post(AUTOPAY, {"planId": "premium_yearly"}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "autopay_setup_in_progress"
    assert body["expiresAt"] == first.setup_payment.expires_at.isoformat()
    assert _rows(user) == rows  # nothing started: no mandate, no payment, no checkout at PhonePe
    assert len(autopay_sim.sim.server.state.subscriptions) == 1
    # The same plan's open checkout is answered again (a double click), as before.
    again = client.post(AUTOPAY, {"planId": "premium_monthly"}, format="json")
    assert (again.status_code, again.json()["data"]["id"]) == (201, str(first.pk))
    # Once it is approved, another set-up is 409 autopay_already_on.
    autopay_sim.approve(first)
    assert client.post(AUTOPAY, {"planId": "premium_yearly"}, format="json").json()["code"] == "autopay_already_on"
    assert _rows(user) == rows


def test_an_approval_phonepe_reports_for_a_setup_given_up_here_is_cancelled_and_refunded(
    live_simulator, plans, patient, turn_on, autopay_sim
):
    """The user opened a monthly checkout, left it until our copy expired, set up yearly instead and approved it,
    then approved the old monthly tab at PhonePe after all."""
    _user, client = patient
    monthly = turn_on(client, "premium_monthly")
    Payment.objects.filter(pk=monthly.setup_payment_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    yearly = turn_on(client, "premium_yearly")  # the monthly set-up is confirmed with PhonePe and given up
    monthly.refresh_from_db()
    assert monthly.state == MandateState.FAILED
    autopay_sim.approve(yearly)
    yearly.refresh_from_db()
    assert yearly.state == MandateState.ACTIVE

    autopay_sim.approve(monthly)  # PhonePe takes the first month and reports the mandate ACTIVE

    monthly.refresh_from_db()
    assert monthly.state == MandateState.FAILED  # never revived here
    assert autopay_sim.subscription(monthly).state == "CANCELLED"  # and cancelled where it could charge
    assert monthly.cancel_requested_at is not None
    payment = Payment.objects.get(pk=monthly.setup_payment_id)
    assert payment.status in (PaymentStatus.SUCCESS, PaymentStatus.REFUNDED)
    assert payment.refunds.count() == 1  # the money PhonePe took goes back, once
    assert "approval not kept" in payment.refund_reason
    yearly.refresh_from_db()
    assert (yearly.state, yearly.cancel_requested_at) == (MandateState.ACTIVE, None)  # the kept one is untouched
    answers = _callbacks_answered(autopay_sim, monthly)
    assert ("subscription.setup.order.completed", 200) in answers
    assert {status for _event, status in answers} == {200}


def _mandate_row(user, plan):
    """The rows `mandate_setup` writes for a set-up (a pending first payment and its mandate), without its checks."""
    offer = product_for(PLAN_PRODUCT).offer(now=timezone.now(), user=user, ref=plan.code)
    now, suffix = timezone.now(), uuid.uuid4().hex
    payment = payment_open(
        user=user, offer=offer, merchant_order_id=f"M360A_{suffix}", expires_at=now + timedelta(hours=1)
    )
    return Mandate.objects.create(
        user=user,
        plan=plan,
        setup_payment=payment,
        merchant_subscription_id=f"MS360_{suffix}",
        frequency=FREQUENCY_BY_PERIOD[plan.period],
        amount_paise=plan.amount_paise,
        max_amount_paise=plan.amount_paise,
        expires_at=now + timedelta(days=365),
    )


def _checkout_behind_the_check(user, plan):
    """A second set-up that got past the check (two requests at once before this rule, or any other path): the
    same steps `mandate_setup` takes, without its refusal."""
    mandate = _mandate_row(user, plan)
    payment = mandate.setup_payment
    order = setup_checkout_create(mandate=mandate, expire_after=3600)
    payment_record_gateway_order(payment=payment, order=order)
    return Mandate.objects.select_related("setup_payment").get(pk=mandate.pk)


def test_a_second_approval_while_one_mandate_is_live_is_cancelled_and_refunded_never_a_500(
    live_simulator, plans, patient, turn_on, autopay_sim
):
    user, client = patient
    monthly = turn_on(client, "premium_monthly")
    yearly = _checkout_behind_the_check(user, plans["premium_yearly"])
    autopay_sim.approve(monthly)
    monthly.refresh_from_db()
    assert monthly.state == MandateState.ACTIVE

    autopay_sim.approve(yearly)  # before: the setup callback answered 500 on one_live_mandate_per_user

    yearly.refresh_from_db()
    assert autopay_sim.subscription(yearly).state == "CANCELLED"
    assert yearly.state == MandateState.CANCELLED  # never live here: cancelled straight from activation
    assert yearly.activated_at is None
    answers = _callbacks_answered(autopay_sim, yearly)
    assert ("subscription.setup.order.completed", 200) in answers
    assert {status for _event, status in answers} == {200}  # before: 500 on one_live_mandate_per_user
    assert not WebhookEvent.objects.filter(merchant_order_id=yearly.setup_payment.merchant_order_id).exclude(
        outcome__in=["applied", "already_applied"]
    )
    payment = Payment.objects.get(pk=yearly.setup_payment_id)
    refund = Refund.objects.get(payment=payment)
    assert (refund.automatic, refund.amount_paise) == (True, payment.amount_paise)
    assert payment.refund_reason == "Autopay approval not kept: another mandate is live"
    autopay_sim.sim.finish_refund(refund.merchant_refund_id)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    monthly.refresh_from_db()
    assert (monthly.state, monthly.cancel_requested_at) == (MandateState.ACTIVE, None)
    assert (
        subscription_get_active(now=timezone.now(), user=user).plan.code == "premium_monthly"
    )  # what the kept mandate paid for
    assert client.get(AUTOPAY).json()["mandate"]["id"] == str(monthly.pk)
    reasons = AuditLog.objects.filter(action="autopay.turn_off", resource_id=str(yearly.pk))
    assert [row.changes["after"]["reason"] for row in reasons] == ["approval not kept: another mandate is live"]
    # Syncing again (a redelivered callback, the job) changes nothing and refunds nothing twice.
    mandate_sync(now=timezone.now(), mandate_id=yearly.pk)
    assert Refund.objects.filter(payment=payment).count() == 1


def test_a_refused_approval_whose_cancel_phonepe_did_not_answer_is_cancelled_by_the_job(
    simulator, plans, patient, turn_on, autopay_sim
):
    """No live server: the job reads PhonePe's word, as it does when callbacks are lost."""
    user, client = patient
    monthly = turn_on(client, "premium_monthly")
    yearly = _checkout_behind_the_check(user, plans["premium_yearly"])
    autopay_sim.approve(monthly)
    mandate_sync(now=timezone.now(), mandate_id=monthly.pk)
    autopay_sim.approve(yearly)
    simulator.post("/simulator/faults", {"operation": "subscription_cancel", "status": 503, "count": 1})

    with pytest.raises(PhonePeUnavailable):  # the setup callback is answered 503: PhonePe delivers it again
        mandate_sync(
            now=timezone.now(), mandate_id=yearly.pk
        )  # and never an IntegrityError on one_live_mandate_per_user

    yearly.refresh_from_db()
    assert yearly.state == MandateState.ACTIVATION_IN_PROGRESS  # not live here, marked off
    assert yearly.cancel_requested_at is not None
    assert autopay_sim.subscription(yearly).state == "ACTIVE"
    assert Refund.objects.filter(payment_id=yearly.setup_payment_id).count() == 1
    seen = client.get(AUTOPAY).json()["mandate"]
    assert (seen["id"], seen["state"]) == (str(monthly.pk), "active")  # the user sees (and turns off) the kept one
    Mandate.objects.filter(pk=yearly.pk).update(created_at=yearly.created_at - timedelta(minutes=6))
    assert yearly.pk in renewals.mandates_due(now=timezone.now())

    assert renewals.renewal_advance(now=timezone.now(), mandate_id=yearly.pk) == "cancel_retried"

    yearly.refresh_from_db()
    assert yearly.state == MandateState.CANCELLED
    assert autopay_sim.subscription(yearly).state == "CANCELLED"
    assert Mandate.objects.get(pk=monthly.pk).state == MandateState.ACTIVE
    assert yearly.pk not in renewals.mandates_due(now=timezone.now())


def test_an_approval_not_kept_whose_cancel_failed_is_cancelled_when_phonepe_delivers_the_callback_again(
    live_simulator, plans, patient, turn_on, autopay_sim, post_callback
):
    """A set-up given up here is not swept by the renewal job: PhonePe's redelivery of its callback (answered 503
    while the cancel could not be sent) finishes the cancel."""
    _user, client = patient
    monthly = turn_on(client, "premium_monthly")
    Payment.objects.filter(pk=monthly.setup_payment_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    yearly = turn_on(client, "premium_yearly")
    autopay_sim.approve(yearly)
    live_simulator.post("/simulator/faults", {"operation": "subscription_cancel", "status": 503, "count": 1})

    autopay_sim.approve(monthly)

    answers = _callbacks_answered(autopay_sim, monthly)
    assert ("subscription.setup.order.completed", 503) in answers
    assert autopay_sim.subscription(monthly).state == "ACTIVE"
    assert Refund.objects.filter(payment_id=monthly.setup_payment_id).count() == 1  # refunded at once all the same
    setup_callback = next(
        hook["body"]
        for hook in autopay_sim.sim.server.state.webhooks
        if hook["event"] == "subscription.setup.order.completed" and hook["status"] == 503
    )

    assert post_callback(setup_callback).status_code == 200  # PhonePe delivers it again

    assert autopay_sim.subscription(monthly).state == "CANCELLED"
    assert Refund.objects.filter(payment_id=monthly.setup_payment_id).count() == 1
    assert Mandate.objects.get(pk=yearly.pk).state == MandateState.ACTIVE


def test_two_setups_at_once_are_serialized_on_the_user_and_the_second_is_409(simulator, plans, patient):
    """A set-up that another request is creating right now (its transaction holds the user's row and has written
    its mandate, not yet committed): the second request waits for it and is refused, instead of starting a second
    checkout that both could approve."""
    user, client = patient
    holding, done = threading.Event(), threading.Event()

    def concurrent_setup():
        try:
            with transaction.atomic():
                User.objects.select_for_update().get(pk=user.pk)
                _mandate_row(user, plans["premium_monthly"])
                holding.set()
                time.sleep(1.5)  # the other request arrives meanwhile
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=concurrent_setup)
    thread.start()
    assert holding.wait(10)

    response = client.post(AUTOPAY, {"planId": "premium_yearly"}, format="json")

    thread.join(10)
    assert done.is_set()
    assert response.status_code == 409
    assert response.json()["code"] == "autopay_setup_in_progress"
    assert list(Mandate.objects.filter(user=user).values_list("plan__code", flat=True)) == ["premium_monthly"]
    assert simulator.server.state.subscriptions == {}  # no second checkout was opened at PhonePe
