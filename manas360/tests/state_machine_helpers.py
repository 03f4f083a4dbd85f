"""Read a model's documented moves and a migration's trigger moves, to compare them with the code's table."""

import importlib
import re
from pathlib import Path

from django.conf import settings

from manas360.state_machine import StateMachine

_CODE = re.compile(r"`([a-z_]+)`")


def documented_moves(doc: str, subject: str) -> set[tuple[str, str]]:
    """The (from, to) pairs of the table headed `| A <subject> in | may become |` in `docs/<doc>`."""
    lines = (Path(settings.BASE_DIR) / "docs" / doc).read_text().splitlines()
    header = f"| A {subject} in | may become |"
    start = next(i for i, line in enumerate(lines) if line.strip() == header)
    moves: set[tuple[str, str]] = set()
    for line in lines[start + 2 :]:
        if not line.strip().startswith("|"):
            break
        _, sources, targets, _ = line.strip().split("|")
        moves |= {(a, b) for a in _CODE.findall(sources) for b in _CODE.findall(targets)}
    return moves


def documented_states(doc: str, subject: str) -> set[str]:
    """Every state named in the first column of that table (final states included)."""
    lines = (Path(settings.BASE_DIR) / "docs" / doc).read_text().splitlines()
    header = f"| A {subject} in | may become |"
    start = next(i for i, line in enumerate(lines) if line.strip() == header)
    states: set[str] = set()
    for line in lines[start + 2 :]:
        if not line.strip().startswith("|"):
            break
        states |= set(_CODE.findall(line.strip().split("|")[1]))
    return states


def trigger_moves(migration: str, table: str) -> set[tuple[str, str]]:
    """The (from, to) pairs the forward-only trigger of `table` in `migration` ("app.migrations.name") allows."""
    operation = importlib.import_module(migration).Migration.operations[0]
    function = next(statement for statement in operation.sql if f"FUNCTION {table}_forward_only()" in statement)
    return set(re.findall(r"\('([a-z_]+)', '([a-z_]+)'\)", function))


def assert_matches_docs(machine: StateMachine, doc: str, subject: str) -> None:
    assert machine.edges() == documented_moves(doc, subject)
    assert set(machine.transitions) == documented_states(doc, subject)
