"""The rule of docs/jobs.md "Jobs that cannot jam": no job uses procrastinate's `queueing_lock` (a job waiting
for its retry could not go back to the queue while a twin waits, and would stay `doing` for ever)."""

import re
from pathlib import Path

from procrastinate.contrib.django import app

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {".venv", "tests", "migrations", "node_modules"}


def test_no_task_declares_a_queueing_lock():
    declared = {name: task.queueing_lock for name, task in app.tasks.items() if task.queueing_lock}
    assert declared == {}
    assert "autopay.advance_mandate" in app.tasks  # the tasks of every app are loaded


def test_no_code_defers_with_a_queueing_lock():
    offenders = []
    for path in ROOT.rglob("*.py"):
        if SKIPPED & set(path.relative_to(ROOT).parts):
            continue
        if re.search(r"queueing_lock\s*=", path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
