"""Logs show what operators need and hide what they must not see (issue: "Logs show what operators need").

Redaction goes by an explicit list of secret keys: before, any key ending in `code` was hidden, so
`status_code` and PhonePe's `code` / `errorCode` read `[redacted]` in the payment error logs. And under
`runserver` a request is logged once (our JSON access line), not three times.
"""

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from manas360.logging import JsonFormatter, development_formatter

ROOT = Path(__file__).resolve().parents[2]


def _format(**fields) -> dict:
    record = logging.makeLogRecord({"msg": "phonepe call failed", "levelname": "ERROR", "name": "x", **fields})
    return json.loads(JsonFormatter().format(record))


def test_operator_fields_ending_in_code_are_shown():
    line = _format(
        status_code=502,
        code="PAYMENT_ERROR",
        errorCode="TXN_AUTO_FAILED",
        error_code="INTERNAL_SERVER_ERROR",
        response={"code": "BAD_REQUEST", "errorCode": "AUTHORIZATION_FAILED", "status_code": 401},
    )
    assert line["status_code"] == 502
    assert line["code"] == "PAYMENT_ERROR"
    assert line["errorCode"] == "TXN_AUTO_FAILED"
    assert line["error_code"] == "INTERNAL_SERVER_ERROR"
    assert line["response"] == {"code": "BAD_REQUEST", "errorCode": "AUTHORIZATION_FAILED", "status_code": 401}


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "token",
        "access_token",
        "accessToken",
        "refresh_token",
        "refreshToken",
        "mfaToken",
        "csrf_token",
        "X-CSRF-Token",
        "Authorization",
        "HTTP_AUTHORIZATION",
        "cookie",
        "client_secret",
        "otp",
        "devOtp",
        "mfa_code",
        "mfaCode",
        "backup_code",
        "secret",
        "signature",
        "X-VERIFY",
    ],
)
def test_secret_keys_are_redacted_at_top_level_and_nested(key):
    line = _format(**{key: "s3cr3t-value", "details": {key: "s3cr3t-value", "items": [{key: "s3cr3t-value"}]}})
    assert line[key] == "[redacted]"
    assert line["details"][key] == "[redacted]"
    assert line["details"]["items"][0][key] == "[redacted]"
    assert "s3cr3t-value" not in json.dumps(line)
    # The development lines hide the same.
    readable = _format_readable(**{key: "s3cr3t-value", "details": {key: "s3cr3t-value"}})
    assert f"{key}=[redacted]" in readable
    assert "s3cr3t-value" not in readable


def _format_readable(**fields) -> str:
    record = logging.makeLogRecord({"msg": "phonepe call failed", "levelname": "ERROR", "name": "x", **fields})
    return development_formatter().format(record)


def test_email_addresses_in_messages_and_fields_are_masked_as_in_error_reports():
    line = _format(
        msg="OTP email to asha.rao+care@example.co.in refused",
        detail={"rcpt": "Asha.Rao@Example.com", "status_code": 550},
        attempts=["first.last@mail.example.org"],
    )
    assert line["message"] == "OTP email to [email] refused"
    assert line["detail"] == {"rcpt": "[email]", "status_code": 550}
    assert line["attempts"] == ["[email]"]
    assert "asha" not in json.dumps(line).lower()


def test_development_lines_read_as_the_request_with_phone_numbers_masked_and_errors_with_their_traceback():
    access = logging.makeLogRecord(
        {"msg": "request", "levelname": "INFO", "levelno": logging.INFO, "name": "manas360.access"}
        | {"method": "POST", "path": "/api/v1/auth/send-otp", "route": "send-otp", "status": 429}
        | {"duration_ms": 4.25, "db_queries": 2, "request_id": "ab12", "user_id": None, "phone": "+919876543210"}
    )
    line = development_formatter().format(access)
    assert "\n" not in line
    assert "POST /api/v1/auth/send-otp 429 in 4.25 ms" in line
    assert "request_id=ab12" in line
    assert "db_queries=2" in line
    assert "user_id" not in line  # nobody signed in: nothing to show
    assert "9876543210" not in line
    assert "phone=[phone]10" in line
    logging.Formatter().format(access)  # another handler first: the record now carries `message`
    assert "message=" not in development_formatter().format(access)

    job = logging.makeLogRecord(
        {"msg": "Job rooms.close_abandoned_sessions[3] ended with status: Success", "levelname": "INFO"}
        | {"name": "procrastinate.worker", "action": "job_success", "job": {"id": 3, "task_kwargs": {}}}
    )
    job_line = development_formatter().format(job)
    assert "Job rooms.close_abandoned_sessions[3] ended with status: Success" in job_line
    assert "task_kwargs" not in job_line  # the engine's nested job and worker fields are left to the JSON logs

    try:
        raise ValueError("boom")
    except ValueError:
        failure = logging.makeLogRecord(
            {"msg": "unhandled error", "levelname": "ERROR", "name": "manas360.errors", "exc_info": sys.exc_info()}
        )
    text = development_formatter().format(failure)
    assert "unhandled error" in text.splitlines()[0]
    assert "Traceback (most recent call last)" in text
    assert "ValueError: boom" in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_runserver_logs_each_request_once():
    port = _free_port()
    env = {**os.environ, "DEBUG": "1", "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        status = None
        while status is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/users/me", timeout=2)
            except urllib.error.HTTPError as answer:
                status = answer.code
            except OSError:
                assert time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.3)
        assert status == 401
        time.sleep(0.5)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    lines = [line for line in output.splitlines() if "/api/v1/users/me" in line]
    assert len(lines) == 1, output
    # DEBUG on: the development line, readable, from our access log.
    assert "GET /api/v1/users/me 401 in" in lines[0]
    assert "[manas360.access]" in lines[0]
