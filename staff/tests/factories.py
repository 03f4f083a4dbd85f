from datetime import timedelta

import factory
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from payments.models import Payment, PaymentStatus
from rooms.models import RoomSession, RoomSessionStatus, Theme
from subscriptions.models import Plan, PlanPeriod, Subscription, SubscriptionStatus


class TherapistFactory(UserFactory):
    role = Role.THERAPIST
    is_verified = False
    first_name = "Kiran"
    last_name = "Therapist"


class StaffPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = "premium_monthly"
    name = factory.LazyAttribute(lambda o: o.code.replace("_", " ").title())
    display_name = factory.LazyAttribute(lambda o: o.code.replace("_", " ").title())
    amount_paise = 29900
    period = PlanPeriod.MONTH
    duration_days = 30
    features = factory.LazyFunction(lambda: ["premium_themed_rooms"])


class StaffSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(StaffPlanFactory)
    status = SubscriptionStatus.ACTIVE
    start_date = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    end_date = factory.LazyFunction(lambda: timezone.now() + timedelta(days=29))


class StaffPaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(StaffPlanFactory)
    merchant_order_id = factory.Sequence(lambda n: f"M360-TEST-{n:06d}")
    amount_paise = factory.LazyAttribute(lambda o: o.plan.amount_paise)
    status = PaymentStatus.SUCCESS


class StaffThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Theme
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"staff-theme-{n}")
    title = factory.Sequence(lambda n: f"Staff theme {n}")
    category = "nature"


class StaffRoomSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoomSession

    user = factory.SubFactory(UserFactory)
    theme = factory.SubFactory(StaffThemeFactory)
    status = RoomSessionStatus.COMPLETED
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    duration_seconds = 600
    ended_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(seconds=o.duration_seconds or 0))
