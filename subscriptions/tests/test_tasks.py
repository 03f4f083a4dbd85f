"""`subscriptions.expire_subscriptions` run through the job engine (a real worker on the test database)."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from subscriptions.models import SubscriptionStatus
from subscriptions.services import subscription_cancel, subscription_grant
from subscriptions.tasks import expire_subscriptions

pytestmark = pytest.mark.django_db(transaction=True)


def test_expiry_job_expires_past_rows_and_applies_cancel_at_period_end(job_engine, plans):
    owner, canceller, current = UserFactory(), UserFactory(), UserFactory()
    with time_machine.travel(timezone.now() - timedelta(days=31)), transaction.atomic():
        lapsed = subscription_grant(user=owner, plan=plans["premium_monthly"])
        cancelled = subscription_grant(user=canceller, plan=plans["premium_monthly"])
        subscription_cancel(subscription_id=cancelled.pk, actor=canceller)
    with transaction.atomic():
        live = subscription_grant(user=current, plan=plans["premium_monthly"])

    expire_subscriptions.defer(timestamp=int(timezone.now().timestamp()))
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
    expire_subscriptions.defer(timestamp=int(timezone.now().timestamp()) + 1)
    job_engine.run()
    for row in (lapsed, cancelled, live):
        row.refresh_from_db()
        assert (row.status, row.updated_at) == before[row.pk]


def test_job_and_command_share_the_service(job_engine, plans):
    with time_machine.travel(timezone.now() - timedelta(days=31)), transaction.atomic():
        first = subscription_grant(user=UserFactory(), plan=plans["premium_monthly"])
    out = io.StringIO()
    call_command("expire_subscriptions", stdout=out)
    assert "Expired 1" in out.getvalue()
    first.refresh_from_db()
    assert first.status == SubscriptionStatus.EXPIRED
