"""The project's own PostgreSQL (manas360/devservers.py): what `make run`, `make worker` and a plain `pytest` use
when DATABASE_URL is unset. One major version everywhere: the wheel's is the one compose and production run."""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from manas360 import devservers

ROOT = Path(__file__).resolve().parents[1]

# Connects through the URL the wrapper hands its command, as the settings would, and prints the server's version.
_QUERY = (
    "import os, environ, psycopg; c = environ.Env.db_url_config(os.environ['DATABASE_URL']); "
    "conn = psycopg.connect(host=c['HOST'], port=c['PORT'], dbname=c['NAME'], user=c['USER']); "
    "print(conn.execute('SHOW server_version').fetchone()[0], c['HOST'])"
)


@pytest.fixture
def pg_home():
    """A folder for a cluster outside pytest's own temporary root: that one is reset to 0700 by any pytest run
    of the same user, which would cut the server's user (as root: `postgres`) off its data mid-test."""
    folder = Path(tempfile.mkdtemp(prefix="manas360-devservers-"))
    folder.chmod(0o755)
    yield folder / "postgres"
    cluster = devservers.Cluster(home=folder / "postgres")
    if cluster.running():
        cluster.stop()
    shutil.rmtree(folder, ignore_errors=True)


def test_the_major_version_is_the_one_compose_and_the_deployment_docs_name():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["postgres"]["image"] == f"postgres:{devservers.PG_MAJOR}"
    assert f"PostgreSQL {devservers.PG_MAJOR}" in (ROOT / "docs" / "deployment.md").read_text()
    assert (devservers.pg_bin() / "postgres").exists()
    version = subprocess.run(
        [str(devservers.pg_bin() / "postgres"), "--version"], capture_output=True, text=True, check=True
    )
    assert re.search(rf"\(PostgreSQL\) {devservers.PG_MAJOR}\.", version.stdout)


@pytest.mark.slow
def test_run_starts_the_local_database_for_its_command_and_stops_it_after(pg_home, monkeypatch, capfd):
    monkeypatch.delenv("DATABASE_URL")
    home = pg_home
    code = devservers._run([sys.executable, "-c", _QUERY], home=home)
    assert code == 0
    out = capfd.readouterr().out
    assert re.search(rf"^{devservers.PG_MAJOR}\.\d+ {re.escape(str(home))}$", out, re.MULTILINE), out
    cluster = devservers.Cluster(home=home)
    assert not cluster.running()  # stopped by the command that started it
    assert (home / "data" / "PG_VERSION").read_text().strip() == str(devservers.PG_MAJOR)

    # The data stays: a second run finds the same database.
    assert devservers._run([sys.executable, "-c", _QUERY], home=home) == 0
    assert not cluster.running()


@pytest.mark.slow
def test_a_run_that_found_the_database_running_leaves_it_to_its_owner(pg_home, monkeypatch):
    monkeypatch.delenv("DATABASE_URL")
    cluster = devservers.Cluster(home=pg_home)
    cluster.init()
    cluster.start()
    try:
        assert devservers._run([sys.executable, "-c", _QUERY], home=cluster.home) == 0
        assert cluster.running()
    finally:
        cluster.stop()
    assert not cluster.running()


def test_an_explicit_database_url_wins_and_no_server_is_started(tmp_path):
    home = tmp_path / "postgres"
    script = (
        "import sys; from pathlib import Path; from manas360 import devservers; "
        "show = 'import os; print(os.environ[\"DATABASE_URL\"])'; "
        f"devservers._run([sys.executable, '-c', show], home=Path({str(home)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://someone@db.example:5432/theirs"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "postgres://someone@db.example:5432/theirs", result.stderr
    assert not home.exists()


def test_the_settings_point_at_the_local_database_when_no_url_is_given():
    code = (
        "import django; django.setup(); from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['HOST'], d['PORT'], d['NAME'], d['ENGINE'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "manas360.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == [str(ROOT / "var" / "postgres"), "5432", "manas360", "manas360.postgresql"]


def test_without_a_url_production_settings_refuse_to_start():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "0", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "example.com"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
