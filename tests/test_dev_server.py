"""Local development is safe by default.

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
    """scripts/run.sh in a copy of the tree whose bootstrap, python and honcho only record what they are asked
    (honcho: the variables the Procfile's commands expand)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run.sh", tmp_path / "scripts" / "run.sh")
    shutil.copy(ROOT / "Procfile", tmp_path / "Procfile")
    (tmp_path / "scripts" / "bootstrap.sh").write_text("#!/bin/sh\nexit 0\n")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text('#!/bin/sh\necho "python $@" >> "$(dirname "$0")/calls"\n')
    (bin_dir / "honcho").write_text(
        '#!/bin/sh\necho "honcho $@ | $HOST $API_PORT $PHONEPE_SIMULATOR_URL $PHONEPE_CALLBACK_URL"'
        ' >> "$(dirname "$0")/calls"\n'
    )
    for path in (tmp_path / "scripts" / "bootstrap.sh", bin_dir / "python", bin_dir / "honcho"):
        path.chmod(0o755)

    def run(**env):
        base = {key: value for key, value in os.environ.items() if key not in ("HOST", "PORT", "PHONEPE_SIMULATOR_URL")}
        base |= {"MANAS360_RUN_DATABASE_READY": "1", "DATABASE_URL": "postgres://u:secret@127.0.0.1:5432/db"}
        result = subprocess.run(
            ["bash", str(tmp_path / "scripts" / "run.sh")],
            env={**base, **env},
            check=True,
            capture_output=True,
            text=True,
        )
        return (bin_dir / "calls").read_text().splitlines(), result.stdout

    return run


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def test_make_run_runs_the_api_a_worker_and_the_simulator_wired_to_each_other():
    procfile = _procfile()
    assert set(procfile) == {"api", "worker", "simulator", "otp"}
    assert procfile["otp"].endswith("manage.py otp_provider_fakes")
    assert procfile["api"].endswith("manage.py runserver $HOST:$API_PORT")
    assert procfile["worker"].endswith("manage.py jobs_worker")
    assert procfile["simulator"].endswith("manage.py phonepe_simulator --callback-url $PHONEPE_CALLBACK_URL")
    # honcho gives each process a PORT of its own; the settings read PORT for the API's own pages.
    assert all(command.startswith("PORT=$API_PORT ") for command in procfile.values())


def test_make_run_binds_loopback_by_default(run_script):
    calls, output = run_script()
    assert calls[:2] == ["python manage.py migrate --no-input", "python manage.py seed"]
    honcho = calls[-1]
    assert honcho == (
        "honcho start -e /dev/null -f Procfile | 127.0.0.1 5000 http://127.0.0.1:8081 "
        "http://127.0.0.1:5000/api/v1/payments/webhook"
    )
    assert "API          http://127.0.0.1:5000/" in output
    assert "simulator    http://127.0.0.1:8081/" in output
    assert "postgres://u:***@127.0.0.1:5432/db" in output  # where the database is, not its password
    assert "secret" not in output


def test_make_run_exposes_on_request(run_script):
    calls, _ = run_script(HOST="0.0.0.0", PORT="8000", PHONEPE_SIMULATOR_URL="http://127.0.0.1:8090")  # noqa: S104
    assert calls[-1].endswith("| 0.0.0.0 8000 http://127.0.0.1:8090 http://127.0.0.1:8000/api/v1/payments/webhook")


def test_make_run_starts_inside_the_local_database_wrapper(run_script, tmp_path):
    subprocess.run(
        ["bash", str(tmp_path / "scripts" / "run.sh")],
        env={key: value for key, value in os.environ.items() if key != "MANAS360_RUN_DATABASE_READY"},
        check=True,
    )
    calls = (tmp_path / ".venv" / "bin" / "calls").read_text().splitlines()
    assert calls == [f"python -m manas360.devservers run -- {tmp_path}/scripts/run.sh"]


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
