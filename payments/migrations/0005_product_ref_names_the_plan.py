"""Before `Payment.plan` is dropped (0006), every payment that points at a plan holds that plan's current code
as its product reference: what the API showed as `planId`/`planName` through the foreign key is then found by
the code alone (the plan product's `labels`). Reversible: going back, 0006 adds the column again and this
points each plan payment at the plan its code names.

Depends on no subscriptions migration: the plan table is reached through the field being removed, which
payments' own history already brings into the state.
"""

from django.db import migrations
from django.db.models import F

PLAN_PRODUCT = "subscription_plan"  # the plan product's registry key (subscriptions/fulfilment.py)


def product_ref_from_plan(apps, schema_editor):
    Payment = apps.get_model("payments", "Payment")
    # Only a plan renamed after it was sold differs; 0003 and the payment service wrote the code otherwise.
    stale = Payment.objects.filter(plan__isnull=False).exclude(product=PLAN_PRODUCT, product_ref=F("plan__code"))
    for payment_id, code in stale.values_list("pk", "plan__code"):
        Payment.objects.filter(pk=payment_id).update(product=PLAN_PRODUCT, product_ref=code)


def plan_from_product_ref(apps, schema_editor):
    Payment = apps.get_model("payments", "Payment")
    Plan = Payment._meta.get_field("plan").related_model
    codes = Payment.objects.filter(product=PLAN_PRODUCT).values_list("product_ref", flat=True).distinct()
    for plan_id, code in Plan.objects.filter(code__in=codes).values_list("pk", "code"):
        Payment.objects.filter(product=PLAN_PRODUCT, product_ref=code).update(plan_id=plan_id)


class Migration(migrations.Migration):
    dependencies = [("payments", "0004_reconciliation_audit")]

    operations = [migrations.RunPython(product_ref_from_plan, plan_from_product_ref)]
