"""`manage.py otp_provider_fakes`: the fakes as `make run` and compose start them, printing each code."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from accounts.otp_providers.whatsapp import whatsapp_request_body
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_the_command_serves_the_providers_with_the_settings_credentials_and_prints_each_code(tmp_path):
    port, smtp_port = free_port(), free_port()
    log = tmp_path / "fakes.log"
    env = {key: value for key, value in os.environ.items() if key not in ("TESTING", "DATABASE_URL")}
    env |= {"DEBUG": "1", "PYTHONUNBUFFERED": "1", "OTP_WHATSAPP_ACCESS_TOKEN": "token-from-settings"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "otp_provider_fakes", "--port", str(port), "--smtp-port", str(smtp_port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        body = whatsapp_request_body(to="+919876543210", code="482913", template="manas360_sign_in_code", language="en")
        url = f"{base}/v23.0/100000000000001/messages"
        refused = requests.post(
            url, json=body, headers={"Authorization": "Bearer fake-whatsapp-access-token"}, timeout=5
        )
        assert refused.status_code == 401  # it takes the token of the settings, not a built-in one
        accepted = requests.post(url, json=body, headers={"Authorization": "Bearer token-from-settings"}, timeout=5)
        assert accepted.status_code == 200
        assert accepted.json()["messages"][0]["id"].startswith("wamid.")
        deadline = time.monotonic() + 10
        while "482913" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "[otp fake whatsapp] code for +919876543210: 482913" in log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    assert process.returncode == 0
