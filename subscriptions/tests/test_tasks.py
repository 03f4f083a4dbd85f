"""`subscriptions.expire_subscriptions` run through the job engine (a real worker on the test database)."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory
from subscriptions.models import SubscriptionStatus
from subscriptions.selectors import subscription_get_active
from subscriptions.services import subscription_cancel
from subscriptions.tasks import expire_subscriptions
from subscriptions.tests.factories import GrantedSubscriptionFactory

pytestmark = pytest.mark.django_db(transaction=True)

DAY = timedelta(days=1)


def _tick():
    return int(timezone.now().timestamp())


def test_expiry_job_expires_past_rows_and_applies_cancel_at_period_end(job_engine, plans):
    owner, canceller, current = UserFactory(), UserFactory(), UserFactory()
    with time_machine.travel(timezone.now() - 31 * DAY):
        lapsed = GrantedSubscriptionFactory(user=owner, plan=plans["premium_monthly"])
        cancelled = GrantedSubscriptionFactory(user=canceller, plan=plans["premium_monthly"])
        subscription_cancel(now=timezone.now(), subscription_id=cancelled.pk, actor=canceller)
    live = GrantedSubscriptionFactory(user=current, plan=plans["premium_monthly"])

    expire_subscriptions.defer(timestamp=_tick())
    job_engine.run()

    assert job_engine.statuses("subscriptions.expire_subscriptions") == ["succeeded"]
    for row in (lapsed, cancelled, live):
        row.refresh_from_db()
    assert lapsed.status == SubscriptionStatus.EXPIRED
    assert cancelled.status == SubscriptionStatus.EXPIRED
    assert cancelled.auto_renew is False
    assert live.status == SubscriptionStatus.ACTIVE

    # Idempotent: a second run (a re-run after a crash, or the next tick) changes nothing.
    before = {row.pk: (row.status, row.updated_at) for row in (lapsed, cancelled, live)}
    expire_subscriptions.defer(timestamp=_tick() + 1)
    job_engine.run()
    for row in (lapsed, cancelled, live):
        row.refresh_from_db()
        assert (row.status, row.updated_at) == before[row.pk]


def test_expiry_job_starts_the_next_queued_grant(job_engine, plans):
    user = UserFactory()
    with time_machine.travel(timezone.now() - 40 * DAY):
        GrantedSubscriptionFactory(user=user, plan=plans["ar_premier"])  # 30 days, paused 10 days in...
    with time_machine.travel(timezone.now() - 30 * DAY):
        plus = GrantedSubscriptionFactory(
            user=user, plan=plans["ar_plus"]
        )  # ...by a better plan, which has now run out
    assert plus.end_date < timezone.now()

    expire_subscriptions.defer(timestamp=_tick())
    job_engine.run()

    plus.refresh_from_db()
    assert plus.status == SubscriptionStatus.EXPIRED
    active = subscription_get_active(now=timezone.now(), user=user)
    assert active is not None
    assert active.plan.code == "ar_premier"  # the 20 unused days resume


def test_job_and_command_share_the_service(job_engine, plans):
    with time_machine.travel(timezone.now() - 31 * DAY):
        first = GrantedSubscriptionFactory(user=UserFactory(), plan=plans["premium_monthly"])
    out = io.StringIO()
    call_command("expire_subscriptions", stdout=out)
    assert "1" in out.getvalue()
    first.refresh_from_db()
    assert first.status == SubscriptionStatus.EXPIRED
