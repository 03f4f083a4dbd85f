"""Payments' schema holds no reference into the apps that sell through it (docs/architecture-decisions.md, ADR-3)."""

from django.apps import apps
from django.db.migrations.loader import MigrationLoader

# What payments may point at: itself and the apps below it (docs/contributing.md, "Layers").
BELOW_OR_SELF = {"payments", "accounts", "manas360"}


def test_no_payments_model_holds_a_foreign_key_into_a_higher_app():
    pointing_up = [
        f"{model.__name__}.{field.name} -> {field.related_model._meta.label}"
        for model in apps.get_app_config("payments").get_models()
        for field in model._meta.get_fields()
        if field.is_relation and field.concrete and field.related_model._meta.app_label not in BELOW_OR_SELF
    ]
    assert pointing_up == []


def test_payments_migrations_since_the_plan_key_was_dropped_depend_on_payments_only():
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    newer = [key for key in graph.nodes if key[0] == "payments" and key[1] >= "0005"]
    assert newer  # 0005, 0006 and whatever follows
    assert {app for key in newer for app, _ in graph.node_map[key].parents} == {"payments"}
