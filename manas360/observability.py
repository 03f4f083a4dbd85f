"""Optional error tracking (Sentry) and tracing (OpenTelemetry): both off unless configured.

* `SENTRY_DSN` set: errors (and, with `SENTRY_TRACES_SAMPLE_RATE` > 0, a sample of transactions) go to Sentry.
* `OTEL_EXPORTER_OTLP_ENDPOINT` set: request spans are exported over OTLP/HTTP (needs requirements-tracing.txt;
  a configured endpoint without those packages stops start-up with a clear error instead of tracing nothing).

What leaves the process holds no personal or health data. It is chosen by allow-lists, not by removing what
is known to be dangerous, so a field or header nobody thought of is dropped rather than sent:
* Sentry events keep only the top-level fields listed in `_EVENT_FIELDS`; of the request only the method, the
  URL without its query string and the headers in `_HEADERS_KEPT` (no User-Agent, cookies, body, query or
  environment); of the user only the id. Every text that remains (messages, exception values, breadcrumbs,
  tags, extra, contexts, span descriptions, even dictionary keys) has e-mail addresses and phone numbers
  masked, and values under sensitive keys (password, OTP, token, ...) are redacted.
* OpenTelemetry spans are copied before export with only the attributes in `_SPAN_ATTRIBUTES_KEPT` (method,
  route, status, scheme, path without query, ...), masked the same way; no client address, user agent,
  query string or captured header ever leaves. Exception events keep their type and a masked message.
Error codes and ids stay readable (docs/deployment.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured

REDACTED = "[redacted]"
# Keys whose values are secrets or personal data wherever they appear (extra, contexts, breadcrumbs, ...).
_SENSITIVE_KEY = re.compile(
    r"password|passwd|secret|token|otp|totp|authorization|cookie|csrf|api[-_]?key|signature|dsn|"
    r"phone|e-?mail|first_name|last_name|full_name|address|ip_address|backup|user[-_]?agent|query",
    re.IGNORECASE,
)
# Also URL-encoded (`%40`, `%2B`): paths and messages quote what a client sent.
_EMAIL = re.compile(r"[\w.+%-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
_PHONE = re.compile(r"(?:(?<![\w+])\+|%2B|(?<![\w+]))\d[\d\s().-]{8,}\d(?!\w)", re.IGNORECASE)
# A generated request id (UUID) is kept as it is; anything else only when it is a plain short token.
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_HEX_ID = re.compile(r"^[0-9a-f]{16,32}$", re.IGNORECASE)
_ID_KEYS = frozenset({"trace_id", "span_id", "parent_span_id", "event_id"})
_TOKEN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Sentry event fields that may leave the process (anything else the SDK or an integration adds is dropped).
_EVENT_FIELDS = frozenset(
    {
        "event_id", "timestamp", "start_timestamp", "platform", "level", "logger", "server_name", "release",
        "dist", "environment", "transaction", "transaction_info", "type", "fingerprint", "sdk", "modules",
        "message", "logentry", "exception", "breadcrumbs", "tags", "contexts", "extra", "user", "request",
        "spans", "measurements",
    }
)  # fmt: skip
_HEADERS_KEPT = frozenset({"content-type", "content-length", "accept", "host", "x-request-id"})
# Of each stack frame: where the code is, never its local variables.
_FRAME_FIELDS = frozenset(
    {"filename", "abs_path", "module", "function", "lineno", "colno", "in_app", "context_line", "pre_context",
     "post_context", "platform"}
)  # fmt: skip

# OpenTelemetry span attributes that may leave the process (old and stable HTTP semantic conventions).
_SPAN_ATTRIBUTES_KEPT = frozenset(
    {
        "http.method", "http.request.method", "http.route", "http.status_code", "http.response.status_code",
        "http.scheme", "url.scheme", "http.flavor", "network.protocol.version", "http.server_name",
        "server.address", "http.host", "server.port", "net.host.port", "net.host.name", "http.target",
        "url.path", "http.url", "url.full", "error.type", "exception.type", "exception.escaped",
        "exception.message", "exception.stacktrace",
    }
)  # fmt: skip
_SPAN_URL_ATTRIBUTES = frozenset({"http.target", "http.url", "url.full"})


def mask_emails(text: str) -> str:
    """Every e-mail address (also URL-encoded) in `text` becomes `[email]`: in events, spans and log lines."""
    return _EMAIL.sub("[email]", text)


def scrub_text(text: str) -> str:
    return _PHONE.sub("[phone]", mask_emails(text))


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return REDACTED
    if isinstance(value, Mapping):
        scrubbed = {}
        for key, item in value.items():
            name = scrub_text(key) if isinstance(key, str) else key
            if isinstance(key, str) and _SENSITIVE_KEY.search(key):
                scrubbed[name] = REDACTED
            elif key in _ID_KEYS and isinstance(item, str) and _HEX_ID.match(item):
                scrubbed[name] = item  # trace and event ids: hex, never personal
            elif key in ("url", "http.url", "url.full") and isinstance(item, str):
                scrubbed[name] = scrub_text(_without_query(item))  # e.g. an HTTP breadcrumb's URL
            else:
                scrubbed[name] = _scrub(item, depth + 1)
        return scrubbed
    if isinstance(value, list | tuple):
        return [_scrub(item, depth + 1) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def _without_query(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0]


def _header_value(name: str, value: Any) -> str:
    text = str(value)
    if name == "x-request-id":
        # Clients may send their own id: keep it only when it is a UUID or a plain token with nothing personal.
        if _UUID.match(text) or (_TOKEN.match(text) and scrub_text(text) == text):
            return text
        return REDACTED
    return scrub_text(text)


def _headers(headers: Any) -> dict[str, str]:
    if isinstance(headers, Mapping):
        pairs = list(headers.items())
    elif isinstance(headers, list | tuple):  # Sentry also accepts [[name, value], ...]
        pairs = [tuple(pair) for pair in headers if isinstance(pair, list | tuple) and len(pair) == 2]
    else:
        return {}
    return {
        str(name): _header_value(str(name).lower(), value)
        for name, value in pairs
        if str(name).lower() in _HEADERS_KEPT
    }


def _request(request: Any) -> dict[str, Any]:
    if not isinstance(request, Mapping):
        return {}
    kept: dict[str, Any] = {}
    if isinstance(request.get("method"), str):
        kept["method"] = request["method"][:16]
    kept["url"] = scrub_text(_without_query(str(request.get("url") or "")))
    kept["headers"] = _headers(request.get("headers"))
    return kept


def _user(user: Any) -> dict[str, Any]:
    if isinstance(user, Mapping) and user.get("id"):
        return {"id": scrub_text(str(user["id"]))}
    return {}


def _exception(exception: Any) -> Any:
    if not isinstance(exception, Mapping):
        return _scrub(exception)
    values = []
    for value in exception.get("values") or []:
        if not isinstance(value, Mapping):
            continue
        copied = _scrub({key: item for key, item in value.items() if key != "stacktrace"})
        stacktrace = value.get("stacktrace")
        if isinstance(stacktrace, Mapping):
            frames = [
                _scrub({key: item for key, item in frame.items() if key in _FRAME_FIELDS})
                for frame in stacktrace.get("frames") or []
                if isinstance(frame, Mapping)
            ]
            copied["stacktrace"] = {"frames": frames}
        values.append(copied)
    return {"values": values}


def scrub_event(event: Any, hint: Any = None) -> Any:
    """Sentry's before_send / before_send_transaction: a copy of the event with only allowed, masked data."""
    if not isinstance(event, Mapping):
        return event
    scrubbed: dict[str, Any] = {}
    for key, value in event.items():
        if key not in _EVENT_FIELDS:
            continue
        if key == "request":
            scrubbed[key] = _request(value)
        elif key == "user":
            scrubbed[key] = _user(value)
        elif key == "exception":
            scrubbed[key] = _exception(value)
        else:
            scrubbed[key] = _scrub(value)
    return scrubbed


def _span_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, value in (attributes or {}).items():
        if name not in _SPAN_ATTRIBUTES_KEPT:
            continue
        if isinstance(value, str):
            value = scrub_text(_without_query(value) if name in _SPAN_URL_ATTRIBUTES else value)
        elif isinstance(value, Sequence) and not isinstance(value, bytes):
            value = [scrub_text(item) if isinstance(item, str) else item for item in value]
        kept[name] = value
    return kept


def scrub_span(span: Any, request: object = None) -> None:
    """OpenTelemetry request hook: no query string or client address even on the live span (the exporter
    wrapper `ScrubbingSpanExporter` then allows only `_SPAN_ATTRIBUTES_KEPT` out of the process)."""
    attributes = getattr(span, "attributes", None) or {}
    for name in ("http.url", "http.target", "url.full"):
        if name in attributes:
            span.set_attribute(name, _without_query(str(attributes[name])))
    for name in ("http.client_ip", "net.peer.ip", "client.address", "network.peer.address", "url.query"):
        if name in attributes:
            span.set_attribute(name, REDACTED)


def scrubbed_span(span: Any) -> Any:
    """A copy of a finished span with only the allowed, masked attributes (its events and links alike)."""
    from opentelemetry.sdk.trace import Event, ReadableSpan  # noqa: PLC0415 - optional package
    from opentelemetry.trace import Link, Status  # noqa: PLC0415 - optional package

    status = span.status
    if status.description:
        status = Status(status.status_code, scrub_text(status.description))
    return ReadableSpan(
        name=scrub_text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_span_attributes(span.attributes),
        events=[
            Event(scrub_text(event.name), _span_attributes(event.attributes), event.timestamp) for event in span.events
        ],
        links=[Link(link.context, {}) for link in span.links],
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class ScrubbingSpanExporter:
    """Wraps the real exporter: every span leaves the process through `scrubbed_span`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def export(self, spans: Sequence[Any]) -> Any:
        return self.inner.export([scrubbed_span(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))


def configure_error_tracking(
    *, dsn: str, environment: str, release: str, traces_sample_rate: float, transport: object = None
) -> bool:
    """Start Sentry when a DSN is given. Returns whether it was started."""
    if not dsn:
        return False
    # Imported only when configured: a process without a DSN never loads the SDK.
    import sentry_sdk  # noqa: PLC0415
    from sentry_sdk.integrations.django import DjangoIntegration  # noqa: PLC0415

    options: dict[str, Any] = {}
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration()],
        # send_default_pii stays at its default (off): no cookies, user data or client address are attached.
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        **options,
    )
    return True


# Probes and scrapes would drown the traces: never traced.
EXCLUDED_FROM_TRACING = "health,health/db,health/ready,metrics"


def configure_tracing(*, endpoint: str, service_name: str, release: str, exporter: Any = None) -> bool:
    """Export request spans over OTLP/HTTP when an endpoint is given. Returns whether tracing was started."""
    if not endpoint and exporter is None:
        return False
    try:  # optional packages (requirements-tracing.txt), imported only when tracing is configured
        from opentelemetry import trace  # noqa: PLC0415
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415
        from opentelemetry.instrumentation.django import DjangoInstrumentor  # noqa: PLC0415
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor  # noqa: PLC0415
    except ImportError as error:
        raise ImproperlyConfigured(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry packages are not installed: install "
            "requirements-tracing.txt (docker build --build-arg EXTRA_REQUIREMENTS=requirements-tracing.txt)."
        ) from error

    provider = TracerProvider(resource=Resource.create({"service.name": service_name, "service.version": release}))
    if exporter is None:
        # The exporter reads the standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout) itself.
        # ScrubbingSpanExporter has SpanExporter's methods without subclassing it: that class lives in the
        # optional packages, which this module must not import unless tracing is configured.
        provider.add_span_processor(BatchSpanProcessor(ScrubbingSpanExporter(OTLPSpanExporter())))  # type: ignore[arg-type]
    else:
        provider.add_span_processor(SimpleSpanProcessor(ScrubbingSpanExporter(exporter)))  # type: ignore[arg-type]
    DjangoInstrumentor().instrument(
        tracer_provider=provider, request_hook=scrub_span, excluded_urls=EXCLUDED_FROM_TRACING
    )
    trace.set_tracer_provider(provider)
    return True
