"""The database refuses a mandate state change that `MANDATE_TRANSITIONS` does not allow.

A trigger rather than application code alone: an ended mandate (cancelled, revoked,
expired, failed) never comes back, whatever path writes the row (a bulk update, a shell,
a future bug). Same for renewals: a final renewal (succeeded, failed, abandoned) stays so.
"""

from django.db import migrations

MANDATE_EDGES = [
    ("activation_in_progress", "active"),
    ("activation_in_progress", "failed"),
    ("activation_in_progress", "cancelled"),
    ("activation_in_progress", "expired"),
    ("active", "paused"),
    ("active", "cancelled"),
    ("active", "revoked"),
    ("active", "expired"),
    ("paused", "active"),
    ("paused", "cancelled"),
    ("paused", "revoked"),
    ("paused", "expired"),
]
RENEWAL_EDGES = [
    ("scheduled", "notified"),
    ("scheduled", "failed"),
    ("scheduled", "abandoned"),
    ("notified", "debiting"),
    ("notified", "succeeded"),
    ("notified", "failed"),
    ("notified", "abandoned"),
    ("debiting", "succeeded"),
    ("debiting", "failed"),
]


def _install(table: str, edges: list[tuple[str, str]]) -> list[str]:
    allowed = ", ".join(f"('{a}', '{b}')" for a, b in edges)
    return [
        f"""
CREATE OR REPLACE FUNCTION {table}_forward_only() RETURNS trigger AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state AND (OLD.state, NEW.state) NOT IN ({allowed}) THEN
        RAISE EXCEPTION '{table} % cannot move from % to %', OLD.id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql""",
        f"""CREATE TRIGGER {table}_forward_only BEFORE UPDATE OF state ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_forward_only()""",
    ]


def _uninstall(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_forward_only ON {table}",
        f"DROP FUNCTION IF EXISTS {table}_forward_only()",
    ]


TABLES = {"autopay_mandate": MANDATE_EDGES, "autopay_renewal": RENEWAL_EDGES}


class Migration(migrations.Migration):
    dependencies = [("autopay", "0001_initial")]

    # A list of statements runs without parameter interpolation: the SQL has literal %.
    operations = [
        migrations.RunSQL(
            sql=[statement for table, edges in TABLES.items() for statement in _install(table, edges)],
            reverse_sql=[statement for table in TABLES for statement in _uninstall(table)],
        )
    ]
