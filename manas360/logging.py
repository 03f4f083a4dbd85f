"""Structured logs: one JSON object per line, with the request id in every line."""

import json
import logging
import re
from datetime import UTC, datetime
from functools import lru_cache

from manas360.request_context import current_job, current_request_id, current_user_id

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Defence in depth: whatever a caller passes, never emit a token, OTP, password or full phone number. The
# secret keys are listed one by one (compared in snake_case, so `accessToken` and `access-token` match too):
# a pattern such as "ends in code" also hid `status_code` and PhonePe's `code` / `errorCode`, the very fields
# an operator needs to debug a payment.
SECRET_KEYS = frozenset(
    {
        "password",
        "new_password",
        "old_password",
        "token",
        "access_token",
        "refresh_token",
        "mfa_token",
        "csrf_token",
        "x_csrf_token",
        "id_token",
        "secret",
        "client_secret",
        "mfa_secret",
        "secret_key",
        "api_key",
        "authorization",
        "http_authorization",
        "cookie",
        "http_cookie",
        "set_cookie",
        "signature",
        "x_verify",
        "otp",
        "dev_otp",
        "otp_code",
        "mfa_code",
        "totp_code",
        "otp_token",
        "backup_code",
        "backup_codes",
    }
)
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d\s-]{8,}(\d{2})(?!\w)")


def mask_phone(value: str | None) -> str | None:
    """`+919876543210` -> `+91******3210`: enough for support, useless to an attacker."""
    if not value:
        return value
    return value[:3] + "*" * max(len(value) - 7, 0) + value[-4:]


@lru_cache(maxsize=1024)
def _is_secret_key(key) -> bool:
    """Log records carry the same few keys over and over: decide once per key."""
    if not isinstance(key, str):
        return False
    return _CAMEL_HUMP.sub("_", key).lower().replace("-", "_") in SECRET_KEYS


def _scrub(key, value, *, depth: int = 0):
    if _is_secret_key(key):
        return "[redacted]"
    if isinstance(value, str):
        return _PHONE.sub(lambda match: "[phone]" + match.group(1), value)
    if depth < 5 and isinstance(value, dict):  # e.g. a gateway's error body passed as one field
        return {inner: _scrub(inner, item, depth=depth + 1) for inner, item in value.items()}
    if depth < 5 and isinstance(value, (list, tuple)):
        return [_scrub(key, item, depth=depth + 1) for item in value]
    return value


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        if not hasattr(record, "user_id"):
            record.user_id = current_user_id()
        job = current_job()
        if job is not None:  # written while a background job runs (manas360/jobs.py)
            record.job_id, record.task_name = job
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _scrub("message", record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = _scrub(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
