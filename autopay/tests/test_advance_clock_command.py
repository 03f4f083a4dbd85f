"""`manage.py autopay_advance_clock`: both clocks move together and the renewal that falls due on the way
happens (notice, debit, new paid period), against the simulator over HTTP."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory
from autopay.models import MandateState, Renewal, RenewalState
from autopay.services import mandate_sync
from payments.models import Payment, PaymentStatus
from subscriptions.selectors import subscription_get_active

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


@pytest.fixture
def autopay_user(plans, simulator, make_auth_client, turn_on, autopay_sim):
    """A patient whose monthly Autopay is set up and approved on the simulator's page (first month paid)."""
    user = UserFactory()
    mandate = turn_on(make_auth_client(user))
    autopay_sim.approve(mandate)
    mandate_sync(now=timezone.now(), mandate_id=mandate.pk)  # no API server here to receive the callback
    mandate.refresh_from_db()
    assert mandate.state == MandateState.ACTIVE
    return user, mandate


def _advance(**options) -> str:
    out = io.StringIO()
    call_command("autopay_advance_clock", stdout=out, **options)
    return out.getvalue()


def _paid_end(user):
    return subscription_get_active(now=timezone.now(), user=user).end_date


def _offset_days(autopay_sim) -> float:
    return autopay_sim.sim.server.state.clock_offset_ms / 1000 / DAY


def test_a_month_forward_shows_the_notice_the_debit_and_the_new_period(autopay_user, autopay_sim, settings):
    user, mandate = autopay_user
    paid_end = _paid_end(user)

    output = _advance(days=30, step_hours=4)

    renewal = Renewal.objects.get(mandate=mandate)
    assert (renewal.cycle, renewal.state) == (1, RenewalState.SUCCEEDED)
    assert _paid_end(user) == paid_end + timedelta(days=30)
    # Our side ran on the moved clock: the notice went out in the notice window before the paid end...
    notice = timedelta(hours=settings.AUTOPAY_NOTIFY_BEFORE_HOURS)
    assert paid_end - notice <= renewal.notified_at <= paid_end - notice + timedelta(hours=4)
    # ... and PhonePe's side too: the debit came 24 h after the notice on the simulator's clock.
    (debit,) = autopay_sim.redemptions()
    assert debit.state == "COMPLETED"
    assert debit.payment_details[0]["timestamp"] - debit.notified_at_ms >= DAY * 1000
    assert round(_offset_days(autopay_sim), 3) == 30
    assert Payment.objects.filter(user=user, status=PaymentStatus.SUCCESS).count() == 2  # setup + renewal
    assert "pre-debit notice sent (cycle 1)" in output
    assert f"paid until {_paid_end(user):%Y-%m-%d %H:%M}" in output
    assert output.count("pre-debit notice sent") == 1  # printed once, not at every step while it waits


def test_a_second_run_carries_on_from_where_the_clock_stands(autopay_user, autopay_sim):
    user, mandate = autopay_user
    paid_end = _paid_end(user)

    _advance(days=28, hours=12, step_hours=4)
    renewal = Renewal.objects.get(mandate=mandate)
    assert renewal.state == RenewalState.NOTIFIED
    assert _paid_end(user) == paid_end
    assert [order.state for order in autopay_sim.redemptions()] == ["NOTIFIED"]

    _advance(days=1, step_hours=4)

    renewal.refresh_from_db()
    assert renewal.state == RenewalState.SUCCEEDED
    assert _paid_end(user) == paid_end + timedelta(days=30)
    assert round(_offset_days(autopay_sim), 3) == 29.5


def test_nothing_is_due_before_the_notice_window(autopay_user, autopay_sim):
    user, _mandate = autopay_user
    paid_end = _paid_end(user)

    _advance(days=10, step_hours=6)

    assert not Renewal.objects.exists()
    assert autopay_sim.redemptions() == []
    assert _paid_end(user) == paid_end
    assert round(_offset_days(autopay_sim), 3) == 10


def test_refused_against_the_real_phonepe(autopay_user, autopay_sim, settings):
    settings.PHONEPE_ENV = "PRODUCTION"

    with pytest.raises(CommandError, match="PRODUCTION"):
        _advance(days=30)

    assert _offset_days(autopay_sim) == 0
    assert not Renewal.objects.exists()


def test_a_gateway_without_a_clock_is_named(db, simulator, settings):
    settings.PHONEPE_PG_BASE_URL = simulator.url + "/nowhere"

    with pytest.raises(CommandError, match="only the PhonePe simulator has a clock"):
        _advance(days=1)

    assert simulator.server.state.clock_offset_ms == 0


@pytest.mark.parametrize("options", [{"days": 0}, {"days": 1, "step_hours": 0}, {"hours": -2}])
def test_the_distance_must_be_positive(db, simulator, options):
    with pytest.raises(CommandError, match="positive"):
        _advance(**options)
    assert simulator.server.state.clock_offset_ms == 0
