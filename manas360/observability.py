"""Optional error tracking (Sentry) and tracing (OpenTelemetry): both off unless configured.

* `SENTRY_DSN` set: errors (and, with `SENTRY_TRACES_SAMPLE_RATE` > 0, a sample of transactions) go to Sentry.
* `OTEL_EXPORTER_OTLP_ENDPOINT` set: request spans are exported over OTLP/HTTP (needs requirements-tracing.txt;
  a configured endpoint without those packages stops start-up with a clear error instead of tracing nothing).

What leaves the process holds no personal or health data: no request bodies, cookies, auth headers, query
strings or client addresses; e-mail addresses and phone numbers in messages are masked; values under sensitive
keys (password, OTP, token, ...) are redacted. Error codes and ids stay readable (docs/deployment.md).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured

REDACTED = "[redacted]"
# Keys whose values are secrets or personal data wherever they appear (headers, extra, contexts, breadcrumbs).
_SENSITIVE_KEY = re.compile(
    r"password|passwd|secret|token|otp|totp|authorization|cookie|csrf|api[-_]?key|signature|dsn|"
    r"phone|e-?mail|first_name|last_name|full_name|address|ip_address|backup",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d\s-]{8,}\d(?!\w)")
_HEADERS_KEPT = {"content-type", "content-length", "accept", "user-agent", "x-request-id", "host"}
# Span attributes that would carry a query string or the client's address (old and stable HTTP conventions).
_URL_ATTRIBUTES = ("http.url", "http.target", "url.full")
_CLIENT_ATTRIBUTES = ("http.client_ip", "net.peer.ip", "client.address", "net.sock.peer.addr", "network.peer.address")
_QUERY_ATTRIBUTES = ("url.query",)


def scrub_text(text: str) -> str:
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return REDACTED
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and _SENSITIVE_KEY.search(key) else _scrub(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item, depth + 1) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


def scrub_event(event: Any, hint: Any = None) -> Any:
    """Sentry's before_send / before_send_transaction: the event with personal data taken out."""
    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers") or {}
        event["request"] = {
            "method": request.get("method"),
            "url": _without_query(str(request.get("url") or "")),
            "headers": {k: v for k, v in headers.items() if str(k).lower() in _HEADERS_KEPT},
        }
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if user.get("id") else {}
    for key in ("extra", "contexts", "tags"):
        if key in event:
            event[key] = _scrub(event[key])
    if isinstance(event.get("logentry"), dict):
        event["logentry"] = _scrub(event["logentry"])
    if "message" in event and isinstance(event["message"], str):
        event["message"] = scrub_text(event["message"])
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = scrub_text(exception["value"])
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)  # local variables may hold anything a request carried
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict) and isinstance(breadcrumbs.get("values"), list):
        breadcrumbs["values"] = [_scrub(crumb) for crumb in breadcrumbs["values"]]
    return event


def scrub_span(span, request=None) -> None:
    """OpenTelemetry request hook: no query string, no client address on a request span."""
    attributes = getattr(span, "attributes", None) or {}
    for name in _URL_ATTRIBUTES:
        if name in attributes:
            span.set_attribute(name, _without_query(str(attributes[name])))
    for name in _CLIENT_ATTRIBUTES + _QUERY_ATTRIBUTES:
        if name in attributes:
            span.set_attribute(name, REDACTED)


def configure_error_tracking(
    *, dsn: str, environment: str, release: str, traces_sample_rate: float, transport=None
) -> bool:
    """Start Sentry when a DSN is given. Returns whether it was started."""
    if not dsn:
        return False
    # Imported only when configured: a process without a DSN never loads the SDK.
    import sentry_sdk  # noqa: PLC0415
    from sentry_sdk.integrations.django import DjangoIntegration  # noqa: PLC0415

    options = {}
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


def configure_tracing(*, endpoint: str, service_name: str, release: str, exporter=None) -> bool:
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
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    DjangoInstrumentor().instrument(
        tracer_provider=provider, request_hook=scrub_span, excluded_urls=EXCLUDED_FROM_TRACING
    )
    trace.set_tracer_provider(provider)
    return True
