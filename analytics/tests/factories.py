"""Analytics' factories: each analytics test states every number it asserts on, so these default to nothing
that would add to a count (no extra user behind a payment, no dates on a subscription)."""

from datetime import UTC

import factory

from analytics.models import Assessment
from payments.models import Payment
from payments.tests.factories import PaymentFactory
from subscriptions.tests.factories import PlanFactory, SubscriptionFactory


class AnalyticsPlanFactory(PlanFactory):
    code = "analytics_monthly"
    features = factory.LazyFunction(list)


class AnalyticsPaymentFactory(PaymentFactory):
    """A payment of nobody unless `user=` is given; `created_at=...` backdates it."""

    class Meta:
        skip_postgeneration_save = True  # the hook writes its own column

    class Params:
        plan = factory.SubFactory(AnalyticsPlanFactory)

    user = None
    merchant_order_id = factory.Sequence(lambda n: f"ANL-{n:06d}")

    @factory.post_generation
    def created_at(self, create, extracted, **kwargs):
        if extracted is not None and create:
            Payment.objects.filter(pk=self.pk).update(created_at=extracted)
            self.created_at = extracted


class AnalyticsSubscriptionFactory(SubscriptionFactory):
    """No start or end date unless given (a pending row has neither, an open-ended one no end)."""

    plan = factory.SubFactory(AnalyticsPlanFactory)
    start_date = None
    end_date = None


class AssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assessment

    user = factory.SubFactory("accounts.tests.factories.UserFactory")
    type = "PHQ9"
    phase = "pre"
    score = factory.Faker("random_int", min=0, max=27)
    taken_at = factory.Faker("date_time_this_year", tzinfo=UTC)
