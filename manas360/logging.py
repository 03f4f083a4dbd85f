"""Logs: one JSON object per line in production, one readable line in development; the request id and the same
redaction in both."""

import json
import logging
import re
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from manas360.observability import mask_emails
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
def _is_secret_key(key: object) -> bool:
    """Log records carry the same few keys over and over: decide once per key."""
    if not isinstance(key, str):
        return False
    return _CAMEL_HUMP.sub("_", key).lower().replace("-", "_") in SECRET_KEYS


def _scrub(key: object, value: object, *, depth: int = 0) -> object:
    if _is_secret_key(key):
        return "[redacted]"
    if isinstance(value, str):
        return mask_emails(_PHONE.sub(lambda match: "[phone]" + match.group(1), value))
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


# --- Development: one readable line per record (DEBUG) -------------------------------------------------------
# Rendered by structlog's console renderer from the same standard-library records, redacted by the same
# `_scrub`: `12:01:02 [info] GET /api/v1/users/me 401 in 3.2 ms [manas360.access] db_queries=1`.
_DEV_NOISE = {"request_id": "-", "user_id": None}


def _scrub_event(logger: object, method_name: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    return {key: value if key == "exc_info" else _scrub(key, value) for key, value in event_dict.items()}


def _readable_access_line(
    logger: object, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The access log's fields as the request line a developer reads; the context nobody needs locally dropped."""
    if event_dict.get("logger") == "manas360.access" and event_dict.get("event") == "request":
        method, path = event_dict.pop("method", "?"), event_dict.pop("path", "?")
        status, duration = event_dict.pop("status", "?"), event_dict.pop("duration_ms", "?")
        event_dict.pop("route", None)
        event_dict["event"] = f"{method} {path} {status} in {duration} ms"
    if str(event_dict.get("logger", "")).startswith("procrastinate."):
        # The job engine's records repeat the whole job and worker as nested fields; its message already names
        # the job, its arguments and its outcome.
        kept = {"event", "level", "logger", "timestamp", "exc_info", "request_id", "user_id"}
        event_dict = {key: value for key, value in event_dict.items() if key in kept or key.startswith("_")}
    # A record another handler formatted first carries its `message` too: the event already says it.
    event_dict.pop("message", None)
    for key, noise in _DEV_NOISE.items():
        if key in event_dict and event_dict[key] == noise:
            del event_dict[key]
    return event_dict


def development_formatter() -> logging.Formatter:
    """LOGGING's formatter when DEBUG is on (settings.py): human-readable lines, tracebacks in plain text
    (never with local variables, which could hold a password or a token)."""
    import structlog  # noqa: PLC0415 - the development renderer only; production formats with JsonFormatter

    return structlog.stdlib.ProcessorFormatter(
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.dev.ConsoleRenderer(
                colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback, sort_keys=False
            ),
        ],
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False),
            structlog.stdlib.ExtraAdder(),
            _scrub_event,
            _readable_access_line,
        ],
    )
