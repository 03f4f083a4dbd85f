"""Payments keep no foreign key into a product's tables (0005 made `product_ref` carry the plan). Its own
migration: PostgreSQL does not alter a table in the transaction that just updated its rows."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("payments", "0005_product_ref_names_the_plan")]

    operations = [migrations.RemoveField(model_name="payment", name="plan")]
