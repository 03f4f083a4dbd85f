"""Dropping `Payment.plan` keeps what the API showed: planId/planName come from the plan code the payment holds,
forward and back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from payments.fulfilment import payments_label

pytestmark = pytest.mark.django_db(transaction=True)

WITH_PLAN = [("payments", "0004_reconciliation_audit")]
WITHOUT_PLAN = [("payments", "0006_remove_payment_plan")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _plan(Plan, code, name, amount_paise):
    return Plan.objects.create(
        code=code, name=name, display_name=name, amount_paise=amount_paise, period="month", duration_days=30
    )


def test_payments_with_plans_keep_plan_id_and_name_forward_and_back():
    old = _migrate(WITH_PLAN)
    try:
        Plan = old.get_model("subscriptions", "Plan")
        Payment = old.get_model("payments", "Payment")
        monthly = _plan(Plan, "mig_monthly", "Migration Monthly", 29900)
        yearly = _plan(Plan, "mig_yearly_v2", "Migration Yearly", 299900)

        def pay(order_id, plan, ref):
            Payment.objects.create(
                plan=plan,
                product="subscription_plan",
                product_ref=ref,
                merchant_order_id=order_id,
                amount_paise=plan.amount_paise,
            )

        pay("M360_mig_1", monthly, "mig_monthly")
        pay("M360_mig_2", monthly, "mig_monthly")
        # Sold as `mig_yearly`, the plan's code renamed since: the API showed the current code through the key.
        pay("M360_mig_3", yearly, "mig_yearly")
        shown_before = {
            payment.merchant_order_id: (payment.plan.code, payment.plan.name)
            for payment in Payment.objects.select_related("plan")
        }

        new = _migrate(WITHOUT_PLAN)
        NewPayment = new.get_model("payments", "Payment")
        assert "plan" not in {field.name for field in NewPayment._meta.get_fields()}
        with connection.cursor() as cursor:
            columns = {
                column.name for column in connection.introspection.get_table_description(cursor, "payments_payment")
            }
        assert "plan_id" not in columns
        payments = list(NewPayment.objects.all())
        payments_label(payments)  # the plan product's labels, as the API's serializers read them
        assert {p.merchant_order_id: (p.product_label.id, p.product_label.name) for p in payments} == shown_before

        back = _migrate(WITH_PLAN)
        OldPayment = back.get_model("payments", "Payment")
        assert {
            p.merchant_order_id: (p.plan.code, p.plan.name) for p in OldPayment.objects.select_related("plan")
        } == shown_before
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
