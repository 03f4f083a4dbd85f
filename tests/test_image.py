"""The image's contents and start-up, and the simulator's own health check in compose.

No Docker engine runs here: the build context is rebuilt from .dockerignore's rules and the commands the
image runs are run in it, the way the container would (`make compose-check` validates the compose file
with a real Compose parser in CI).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from payments.tests.simulator import start_test_simulator

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _rules() -> list[tuple[bool, re.Pattern]]:
    """.dockerignore lines as (excluded?, regex) in order; the last rule that matches a path decides."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        rules.append((not negated, re.compile(regex + "$")))
    return rules


def _excluded(relative: str, rules) -> bool:
    parts = relative.split("/")
    # A path is left out when it, or a directory above it, is excluded (Docker's rule for directories).
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        verdict = None
        for excluded, regex in rules:
            if regex.match(prefix):
                verdict = excluded
        if verdict:
            return True
    return False


def _tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def build_context(tmp_path_factory):
    """The files `COPY . /app` puts in the image (from the repository's tracked files)."""
    rules = _rules()
    context = tmp_path_factory.mktemp("context") / "app"
    for name in _tracked_files():
        if not _excluded(name, rules):
            target = context / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)
    return context


def _run(context: Path, *args, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TESTING", "DJANGO_SETTINGS_MODULE")}
    base.pop("DEBUG", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=context,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_image_carries_no_tests_docs_or_development_tooling(build_context):
    files = {str(path.relative_to(build_context)) for path in build_context.rglob("*") if path.is_file()}
    for needed in (
        "manage.py",
        "manas360/server.py",
        "requirements.txt",
        "manas360/settings.py",
        "templates/home.html",
    ):
        assert needed in files
    assert not [name for name in files if name.startswith(".env")]  # no environment file, not even an example
    leaked = [
        name
        for name in files
        if "/tests/" in f"/{name}"
        or name.startswith(("docs/", "loadtest/", "scripts/", ".ci/"))
        or name.endswith(".md")
        or name in {"conftest.py", "pytest.ini", "requirements-dev.txt", "Makefile", "docker-compose.yml"}
    ]
    assert leaked == []


def test_the_dockerignore_rules_are_read_like_docker_reads_them():
    rules = _rules()
    assert _excluded("payments/tests/test_refunds.py", rules)
    assert _excluded("docs/deployment.md", rules)
    assert _excluded(".env", rules)
    assert _excluded(".env.development", rules)
    assert _excluded(".env.development.example", rules)
    assert not _excluded("payments/services.py", rules)
    assert not _excluded("staff/testing.py", rules)  # a module, not a tests directory


def _env_file(path: Path) -> dict[str, str]:
    """`docker run --env-file` reading: KEY=VALUE lines, comments and blank lines skipped, values taken as-is."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value
    return pairs


@pytest.mark.slow
def test_the_image_code_starts_and_migrates_a_fresh_postgresql_database(build_context):
    """`docker run --env-file` with the development example's values and a DATABASE_URL: nothing at run time
    imports tests or development tooling, and every migration applies to an empty PostgreSQL database."""
    import psycopg
    from django.conf import settings

    from tests.servers import database_url

    env = _env_file(ROOT / ".env.development.example")
    server = settings.DATABASES["default"]
    name = "manas360_image_check"
    with psycopg.connect(database_url({**server, "NAME": "postgres"}), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
        try:
            env["DATABASE_URL"] = database_url({**server, "NAME": name})
            check = _run(build_context, "check", **env)
            assert check.returncode == 0, check.stderr[-3000:]
            migrate = _run(build_context, "migrate", "--no-input", **env)
            assert migrate.returncode == 0, migrate.stderr[-3000:]
            shown = _run(build_context, "showmigrations", "--plan", **env)
            assert "[X]  autopay.0002_mandate_forward_only" in shown.stdout
            assert "[ ]" not in shown.stdout
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_database_other_than_postgresql_is_refused_with_a_clear_message(build_context):
    result = _run(build_context, "check", DEBUG="1", DATABASE_URL="mysql://manas360:pw@127.0.0.1:3306/manas360")
    assert result.returncode == 2
    assert "DATABASE_URL must be a postgres://" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_runtime_image_makes_var_writable_for_its_user_and_drops_pip():
    runtime = DOCKERFILE[DOCKERFILE.index("AS runtime") :]
    assert re.search(r"RUN mkdir -p /app/var && chown app:app /app/var", runtime)
    assert runtime.index("chown app:app /app/var") < runtime.index("USER app")
    assert "pip uninstall --yes pip setuptools wheel" in runtime
    assert "build-essential" not in runtime


def _simulator_health_probe() -> list[str]:
    service = COMPOSE["services"]["phonepe-simulator"]
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD"
    return test[1:]


def test_the_simulator_has_its_own_health_check_on_its_own_port():
    service = COMPOSE["services"]["phonepe-simulator"]
    command = service["command"]
    port = command[command.index("--port") + 1]
    probe = " ".join(_simulator_health_probe())
    assert f", {port})" in probe
    assert "5000" not in probe  # not the image's API check
    # Checkout links a browser can open, not the 0.0.0.0 it binds to.
    public_url = command[command.index("--public-url") + 1]
    assert public_url.startswith("http://localhost:")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_simulator_health_check_passes_when_it_listens_and_fails_when_it_does_not(settings):
    probe = _simulator_health_probe()
    assert probe[:2] == ["python", "-c"]
    server = start_test_simulator(settings)
    try:
        code = probe[2].replace("8081", str(server.server_address[1]))
        assert subprocess.run([sys.executable, "-c", code], timeout=30).returncode == 0
    finally:
        server.stop()
    closed = probe[2].replace("8081", str(_free_port()))
    assert subprocess.run([sys.executable, "-c", closed], capture_output=True, timeout=30).returncode != 0
