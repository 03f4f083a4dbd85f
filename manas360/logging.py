"""Structured logs: one JSON object per line, with the request id in every line."""

import json
import logging
import re
from datetime import UTC, datetime
from functools import lru_cache

from manas360.request_context import current_job, current_request_id, current_user_id

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Defence in depth: whatever a caller passes, never emit a token, OTP or full phone number.
_SECRET_KEYS = re.compile(r"(token|secret|password|otp|authorization|cookie|signature|code)$", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d\s-]{8,}(\d{2})(?!\w)")


def mask_phone(value: str | None) -> str | None:
    """`+919876543210` -> `+91******3210`: enough for support, useless to an attacker."""
    if not value:
        return value
    return value[:3] + "*" * max(len(value) - 7, 0) + value[-4:]


@lru_cache(maxsize=1024)
def _is_secret_key(key: str) -> bool:
    """Log records carry the same few keys over and over: decide once per key."""
    return _SECRET_KEYS.search(key) is not None


def _scrub(key: str, value):
    if _is_secret_key(key):
        return "[redacted]"
    if isinstance(value, str):
        return _PHONE.sub(lambda match: "[phone]" + match.group(1), value)
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
