"""`scripts/smoke.py` against a real server (as production runs it: manas360.server) on a free port, on the test
PostgreSQL, in development mode (DEBUG=1, the fixed development OTP), beside the PhonePe simulator."""

import subprocess
import sys

import pytest

from tests.e2e.conftest import WEBHOOK_PATH
from tests.servers import ROOT, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SMOKE = ROOT / "scripts" / "smoke.py"


def _run_smoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SMOKE), *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_smoke_script_passes_against_a_development_server(web_servers, phonepe, tmp_path):
    dev_env = {
        "DEBUG": "1",
        "OTP_DEV_FIXED_CODE": "246810",
        "OTP_DELIVERY_CHANNEL": "accounts.otp_delivery.ConsoleChannel",
        "PHONEPE_PG_BASE_URL": phonepe.pg_base_url,
        "PHONEPE_OAUTH_BASE_URL": phonepe.pg_base_url,
    }
    # `manage.py seed` with DEBUG on creates the demo accounts the walk-through uses (docs/api.md §11).
    seeded = subprocess.run(
        [sys.executable, "manage.py", "seed"],
        cwd=ROOT,
        env={**web_servers.base_env, **dev_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert "admin@manas360.local" in seeded.stdout

    (server,) = web_servers.start(env=dev_env, threads=4)
    phonepe.callback_url = server.url(WEBHOOK_PATH)
    secret_file = tmp_path / "totp-secret"

    result = _run_smoke("--base-url", server.base_url, "--admin-totp-secret-file", str(secret_file))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output + "\n--- server log ---\n" + server.log_tail(60)
    for step in (
        "GET /health ",
        "GET /health/db",
        "GET /metrics",
        "POST /api/v1/auth/send-otp",
        "POST /api/v1/auth/verify-otp",
        "GET /api/v1/users/me",
        "POST /api/v1/admin/mfa/enable",
        "POST /api/v1/auth/admin-login/verify-mfa",
        "GET /api/v1/admin/users?page=1&limit=10",
        "GET /api/v1/themed-rooms/themes",
        "POST /api/v1/payments/create",
    ):
        assert any(line.startswith("[PASS]") and step in line for line in output.splitlines()), (step, output)
    assert "[FAIL]" not in output
    assert "devOtp from the server" in output
    assert "SMOKE OK" in output
    assert phonepe.state.orders, "the payment reached the PhonePe simulator"

    # A second run finds the admin enrolled and signs in with the saved secret through verify-mfa.
    assert secret_file.read_text().strip()
    # (Another phone number: the demo patient's resend cooldown of 60 s is still running.)
    again = _run_smoke(
        "--base-url", server.base_url, "--admin-totp-secret-file", str(secret_file), "--phone", "+91 98765 11111"
    )
    again_output = again.stdout + again.stderr
    assert again.returncode == 0, again_output
    assert "POST /api/v1/admin/mfa/enable" not in again_output
    assert "POST /api/v1/auth/admin-login/verify-mfa" in again_output


def test_smoke_script_exits_non_zero_when_the_server_is_down():
    result = _run_smoke("--base-url", f"http://127.0.0.1:{free_port()}", "--admin-totp-secret-file", "")
    assert result.returncode == 1
    assert result.stdout.splitlines()[1].startswith("[FAIL]")
    assert "GET /health" in result.stdout
    assert "SMOKE FAILED" in result.stdout
