"""Local development is safe by default (issue: "Local development is safe by default").

`make run` serves development mode (demo accounts, optionally a fixed OTP): it binds 127.0.0.1 unless HOST
says otherwise. Under `runserver` database connections are not kept: each request runs on a new thread, so
kept connections pile up until PostgreSQL refuses new ones.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_script(tmp_path):
    """scripts/run.sh in a copy of the tree whose bootstrap and python only record what they are asked."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run.sh", tmp_path / "scripts" / "run.sh")
    (tmp_path / "scripts" / "bootstrap.sh").write_text("#!/bin/sh\nexit 0\n")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls"\n')
    for path in (tmp_path / "scripts" / "bootstrap.sh", python):
        path.chmod(0o755)

    def run(**env):
        base = {key: value for key, value in os.environ.items() if key not in ("HOST", "PORT")}
        subprocess.run(["bash", str(tmp_path / "scripts" / "run.sh")], env={**base, **env}, check=True)
        calls = (python.parent / "calls").read_text().splitlines()
        # The OTP provider fakes start in the background and may record their call after runserver's.
        return [call for call in calls if "runserver" in call][-1]

    return run


def test_make_run_binds_loopback_by_default(run_script):
    assert run_script() == "manage.py runserver 127.0.0.1:5000"


def test_make_run_exposes_on_request(run_script):
    assert run_script(HOST="0.0.0.0", PORT="8000") == "manage.py runserver 0.0.0.0:8000"  # noqa: S104


def _conn_max_age(command: str) -> int:
    code = (
        "import sys, django; sys.argv = ['manage.py', sys.argv[1]]; django.setup(); "
        "from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "manas360.settings",
        "DEBUG": "1",
        "DATABASE_URL": "postgres://u:p@127.0.0.1:1/db",
        "DB_CONN_MAX_AGE": "60",
    }
    result = subprocess.run(
        [sys.executable, "-c", code, command], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return int(result.stdout.strip().splitlines()[-1])


def test_runserver_keeps_no_database_connection():
    assert _conn_max_age("runserver") == 0


def test_other_servers_keep_the_configured_connection_age():
    assert _conn_max_age("migrate") == 60
