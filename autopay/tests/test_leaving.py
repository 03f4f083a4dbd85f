"""Leaving stops the money (docs/autopay.md "Leaving"): deleting or suspending an account cancels its mandates at
PhonePe, and the renewal job never notifies or debits for a deleted or suspended account. End to end: our API in a
live server, the PhonePe simulator over HTTP, the renewal job through a real procrastinate worker."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditLog, User
from accounts.tests.factories import UserFactory
from autopay import renewals, tasks
from autopay.models import Mandate, MandateState, Renewal
from payments.models import Payment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HOUR = timedelta(hours=1)
ME = "/api/v1/users/me"


@pytest.fixture
def subscribed(live_simulator, plans, make_auth_client, turn_on, autopay_sim):
    """A patient whose premium_monthly Autopay is approved and active (first month paid)."""
    user = UserFactory()
    client = make_auth_client(user)
    mandate = turn_on(client)
    autopay_sim.approve(mandate)  # the simulator's callbacks reach the live server: the mandate is confirmed
    mandate.refresh_from_db()
    assert mandate.state == MandateState.ACTIVE
    return user, client, mandate


def _renewal_month_passes(job_engine, mandate):
    """The sweeps that would notify (48 h before the paid end) and debit (24 h later) this mandate's next period."""
    end = Mandate.objects.select_related("subscription").get(pk=mandate.pk).subscription.end_date
    for at in (end - 47 * HOUR, end - 23 * HOUR):
        with time_machine.travel(at, tick=False):
            tasks.renewals_due.defer(timestamp=int(at.timestamp()))
            job_engine.run()


def _nothing_charged(user, mandate, autopay_sim, payments_before):
    assert autopay_sim.redemptions() == []  # no pre-debit notice, no debit at PhonePe
    assert not Renewal.objects.filter(mandate=mandate).exists()
    assert Payment.objects.filter(user=user).count() == payments_before


def test_deleting_the_account_cancels_autopay_at_phonepe_and_nothing_is_charged_later(
    job_engine, subscribed, autopay_sim
):
    user, client, mandate = subscribed
    payments_before = Payment.objects.filter(user=user).count()

    response = client.delete(ME)

    assert response.status_code == 200
    mandate.refresh_from_db()
    assert mandate.state == MandateState.CANCELLED  # PhonePe's cancel asked and confirmed before the answer
    assert autopay_sim.subscription(mandate).state == "CANCELLED"
    assert mandate.cancel_requested_at is not None
    turn_off = AuditLog.objects.get(action="autopay.turn_off", resource_id=str(mandate.pk))
    assert turn_off.actor_id == user.pk
    assert turn_off.changes["after"]["reason"] == "account deleted"
    _renewal_month_passes(job_engine, mandate)
    _nothing_charged(user, mandate, autopay_sim, payments_before)
    assert job_engine.statuses("autopay.advance_mandate").count("failed") == 0


def test_deleting_while_phonepe_is_down_still_deletes_and_the_job_finishes_the_cancel(
    job_engine, subscribed, autopay_sim
):
    user, client, mandate = subscribed
    payments_before = Payment.objects.filter(user=user).count()
    autopay_sim.sim.post("/simulator/faults", {"operation": "subscription_cancel", "status": 503, "count": 1})

    response = client.delete(ME)

    assert response.status_code == 200  # leaving never depends on PhonePe answering
    user.refresh_from_db()
    assert user.deleted_at is not None
    mandate.refresh_from_db()
    assert mandate.state == MandateState.ACTIVE  # still live at PhonePe ...
    assert mandate.cancel_requested_at is not None  # ... but recorded as off: no debit starts
    assert autopay_sim.subscription(mandate).state == "ACTIVE"
    assert mandate.pk in renewals.mandates_due(now=timezone.now())

    _renewal_month_passes(job_engine, mandate)

    mandate.refresh_from_db()
    assert mandate.state == MandateState.CANCELLED
    assert autopay_sim.subscription(mandate).state == "CANCELLED"
    _nothing_charged(user, mandate, autopay_sim, payments_before)


def test_staff_suspension_cancels_autopay_at_phonepe(job_engine, subscribed, autopay_sim, admin_client, admin_user):
    user, _client, mandate = subscribed
    payments_before = Payment.objects.filter(user=user).count()

    response = admin_client.put(f"/api/v1/admin/users/{user.pk}/suspend", {"reason": "abuse"}, format="json")

    assert response.status_code == 200
    mandate.refresh_from_db()
    assert mandate.state == MandateState.CANCELLED
    assert autopay_sim.subscription(mandate).state == "CANCELLED"
    turn_off = AuditLog.objects.get(action="autopay.turn_off", resource_id=str(mandate.pk))
    assert (turn_off.actor_id, turn_off.changes["after"]["reason"]) == (admin_user.pk, "account suspended")
    _renewal_month_passes(job_engine, mandate)
    _nothing_charged(user, mandate, autopay_sim, payments_before)


def test_a_setup_still_waiting_for_approval_is_cancelled_when_the_account_is_deleted(
    live_simulator, plans, make_auth_client, turn_on, autopay_sim
):
    user = UserFactory()
    client = make_auth_client(user)
    mandate = turn_on(client)

    assert client.delete(ME).status_code == 200

    mandate.refresh_from_db()
    assert mandate.state == MandateState.CANCELLED
    assert autopay_sim.subscription(mandate).state == "CANCELLED"


@pytest.mark.parametrize(
    "gone", [{"is_active": False}, {"deleted_at": "now"}], ids=["suspended-elsewhere", "deleted-elsewhere"]
)
def test_the_renewal_job_never_notifies_or_debits_for_a_gone_account(job_engine, subscribed, autopay_sim, gone):
    """An account that left without its mandates being turned off (before this rule existed, or by a path that
    missed it): the job turns Autopay off instead of starting the next attempt."""
    user, _client, mandate = subscribed
    payments_before = Payment.objects.filter(user=user).count()
    User.objects.filter(pk=user.pk).update(**{k: timezone.now() if v == "now" else v for k, v in gone.items()})
    mandate.refresh_from_db()
    assert mandate.cancel_requested_at is None

    _renewal_month_passes(job_engine, mandate)

    mandate.refresh_from_db()
    assert mandate.state == MandateState.CANCELLED
    assert autopay_sim.subscription(mandate).state == "CANCELLED"
    _nothing_charged(user, mandate, autopay_sim, payments_before)
    assert AuditLog.objects.get(action="autopay.turn_off", resource_id=str(mandate.pk)).changes["after"]["reason"] == (
        "account closed"
    )


def test_renewal_advance_turns_off_a_gone_accounts_mandate_before_any_notice(subscribed, autopay_sim):
    user, _client, mandate = subscribed
    User.objects.filter(pk=user.pk).update(is_active=False)
    end = Mandate.objects.select_related("subscription").get(pk=mandate.pk).subscription.end_date

    assert renewals.renewal_advance(mandate_id=mandate.pk, now=end - 47 * HOUR) == "turned_off_user_gone"

    assert autopay_sim.redemptions() == []
    assert not Renewal.objects.filter(mandate=mandate).exists()
