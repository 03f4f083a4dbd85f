"""PostgreSQL triggers that keep a state column moving forward, for migrations (docs/architecture-decisions.md).

The code's `StateMachine` is the first guard; a bulk `update()`, a shell or a future bug skips it. These triggers
refuse, whatever path writes the row, any change of the column that is not one of the listed (from, to) pairs.
A migration passes its own literal list of pairs (a migration must not change when the models do).
"""

from django.db import migrations


def _install(table: str, column: str, edges: list[tuple[str, str]]) -> list[str]:
    allowed = ", ".join(f"('{a}', '{b}')" for a, b in edges)
    return [
        f"""
CREATE OR REPLACE FUNCTION {table}_forward_only() RETURNS trigger AS $$
BEGIN
    IF NEW.{column} IS DISTINCT FROM OLD.{column} AND (OLD.{column}, NEW.{column}) NOT IN ({allowed}) THEN
        RAISE EXCEPTION '{table} % cannot move from % to %', OLD.id, OLD.{column}, NEW.{column}
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql""",
        f"""CREATE TRIGGER {table}_forward_only BEFORE UPDATE OF {column} ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_forward_only()""",
    ]


def _uninstall(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_forward_only ON {table}",
        f"DROP FUNCTION IF EXISTS {table}_forward_only()",
    ]


def forward_only(tables: dict[str, list[tuple[str, str]]], *, column: str = "state") -> migrations.RunSQL:
    """One `RunSQL` installing a forward-only trigger on each table, `{table: [(from, to), ...]}`.

    A list of statements runs without parameter interpolation: the SQL has literal %.
    """
    return migrations.RunSQL(
        sql=[statement for table, edges in tables.items() for statement in _install(table, column, edges)],
        reverse_sql=[statement for table in tables for statement in _uninstall(table)],
    )
