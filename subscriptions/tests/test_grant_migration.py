"""The data migration gives existing payments their grants before `Payment.subscription` is dropped."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("payments", "0002_payment_expires_at_payment_last_reconciled_at_and_more"),
    ("subscriptions", "0001_initial"),
]
AFTER = [("payments", "0003_payment_product_refund_outbox"), ("subscriptions", "0002_grant")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_payments_become_grants_and_products():
    old = _migrate(BEFORE)
    try:
        User = old.get_model("accounts", "User")
        Plan = old.get_model("subscriptions", "Plan")
        Subscription = old.get_model("subscriptions", "Subscription")
        Payment = old.get_model("payments", "Payment")
        now = timezone.now()
        user = User.objects.create(email="legacy@manas360.test", phone_number="+919800000001")
        monthly = Plan.objects.create(
            code="premium_monthly",
            name="Premium Monthly",
            display_name="Premium Monthly",
            amount_paise=29900,
            period="month",
            duration_days=30,
            features=["premium_themed_rooms"],
        )
        running = Subscription.objects.create(
            user=user,
            plan=monthly,
            status="active",
            start_date=now - timedelta(days=10),
            end_date=now + timedelta(days=50),
        )
        for index, status in enumerate(["success", "success", "refunded"]):
            Payment.objects.create(
                user=user,
                plan=monthly,
                subscription=running,
                merchant_order_id=f"M360_legacy_{index}",
                amount_paise=29900,
                status=status,
                completed_at=now - timedelta(days=10 - index),
            )

        new = _migrate(AFTER)
        Grant = new.get_model("subscriptions", "Grant")
        NewPayment = new.get_model("payments", "Payment")
        assert set(NewPayment.objects.values_list("product", "product_ref")) == {
            ("subscription_plan", "premium_monthly")
        }
        grants = list(Grant.objects.filter(user_id=user.pk).order_by("created_at"))
        assert [grant.state for grant in grants] == ["current", "queued", "revoked"]
        current, queued, revoked = grants
        assert current.starts_at == running.start_date
        assert queued.starts_at == current.ends_at
        assert queued.ends_at == running.end_date  # the last live grant ends where the subscription did
        assert revoked.revoked_at is not None
        assert {grant.subscription_id for grant in grants} == {running.pk}
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
