"""Builders with explicit values: each analytics test states every number it asserts on."""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model

from analytics.models import Assessment
from payments.models import Payment
from rooms.models import RoomSession
from subscriptions.models import Subscription
from subscriptions.tests.factories import PlanFactory

User = get_user_model()


def make_user(*, created_at: datetime, role: str = "patient", deleted: bool = False, **fields):
    """A user whose `created_at` (auto_now_add) is moved to `created_at`."""
    from accounts.tests.factories import UserFactory

    user = UserFactory(role=role, **fields)
    updates = {"created_at": created_at}
    if deleted:
        updates["deleted_at"] = created_at + timedelta(days=1)
    User.objects.filter(pk=user.pk).update(**updates)
    user.refresh_from_db()
    return user


def make_session(*, user, theme, started_at, status="completed", duration_seconds=None, **fields):
    ended_at = None if status == "in_progress" else started_at + timedelta(seconds=duration_seconds or 0)
    return RoomSession.objects.create(
        user=user,
        theme=theme,
        status=status,
        started_at=started_at,
        ended_at=ended_at,
        duration_seconds=duration_seconds,
        **fields,
    )


_payment_numbers = iter(range(1, 10**6))


def make_payment(*, amount_paise, status, completed_at=None, created_at=None, user=None, plan=None):
    plan = plan or PlanFactory(code="analytics_monthly", features=[])
    payment = Payment.objects.create(
        user=user,
        product="subscription_plan",
        product_ref=plan.code,
        merchant_order_id=f"ANL-{next(_payment_numbers):06d}",
        amount_paise=amount_paise,
        status=status,
        completed_at=completed_at,
    )
    if created_at is not None:
        Payment.objects.filter(pk=payment.pk).update(created_at=created_at)
    return payment


def make_subscription(*, user, status, start_date=None, end_date=None, cancelled_at=None, plan=None):
    return Subscription.objects.create(
        user=user,
        plan=plan or PlanFactory(code="analytics_monthly", features=[]),
        status=status,
        start_date=start_date,
        end_date=end_date,
        cancelled_at=cancelled_at,
    )


def make_assessment(*, user, type, phase, score, taken_at):
    return Assessment.objects.create(user=user, type=type, phase=phase, score=score, taken_at=taken_at)
