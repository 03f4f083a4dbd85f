"""Payments record what they bought as a registered product (payments/fulfilment.py) instead of a required
plan and subscription: existing payments become `subscription_plan` purchases of their plan's code. The
subscription link moved to the grants (subscriptions 0002 copies it before it is dropped here). Refunds
gain the outbox fields."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def product_from_plan(apps, schema_editor):
    Payment = apps.get_model("payments", "Payment")
    Plan = apps.get_model("subscriptions", "Plan")
    for plan in Plan.objects.all():
        Payment.objects.filter(plan=plan).update(product="subscription_plan", product_ref=plan.code)


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0002_payment_expires_at_payment_last_reconciled_at_and_more'),
        ('subscriptions', '0002_grant'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='payment',
            name='product',
            field=models.CharField(default='', max_length=40),
        ),
        migrations.AddField(
            model_name='payment',
            name='product_ref',
            field=models.CharField(default='', max_length=100),
        ),
        migrations.RunPython(product_from_plan, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='payment',
            name='product',
            field=models.CharField(max_length=40),
        ),
        migrations.AlterField(
            model_name='payment',
            name='product_ref',
            field=models.CharField(max_length=100),
        ),
        migrations.RemoveField(
            model_name='payment',
            name='subscription',
        ),
        migrations.AddField(
            model_name='payment',
            name='refund_reason',
            field=models.CharField(blank=True, default='', max_length=255),
        ),
        migrations.AddField(
            model_name='refund',
            name='automatic',
            field=models.BooleanField(default=False, help_text='Decided by the rules, not by an operator.'),
        ),
        migrations.AddField(
            model_name='refund',
            name='last_reconciled_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='refund',
            name='send_attempts',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='refund',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='payment',
            name='plan',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='subscriptions.plan'),
        ),
        migrations.AddConstraint(
            model_name='payment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('product', ''), _negated=True), models.Q(('product_ref', ''), _negated=True)), name='payment_product_set'),
        ),
    ]
