import factory

from accounts.tests.factories import UserFactory
from payments.models import Payment, PaymentStatus
from subscriptions.fulfilment import PLAN_PRODUCT
from subscriptions.tests.factories import PlanFactory


class PaymentFactory(factory.django.DjangoModelFactory):
    """A payment row as the payment service leaves it; no gateway call is made."""

    class Meta:
        model = Payment

    class Params:
        plan = factory.SubFactory(PlanFactory)  # what it bought: the payment keeps the plan's code only

    user = factory.SubFactory(UserFactory)
    product = PLAN_PRODUCT
    product_ref = factory.LazyAttribute(lambda o: o.plan.code)
    merchant_order_id = factory.Sequence(lambda n: f"M360-TEST-{n:06d}")
    amount_paise = factory.LazyAttribute(lambda o: o.plan.amount_paise)
    status = PaymentStatus.SUCCESS
