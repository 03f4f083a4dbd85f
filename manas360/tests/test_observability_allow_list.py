"""Sentry and OpenTelemetry send no personal data: what leaves is chosen by allow-lists (manas360/observability.py).

Leak reproduced: an e-mail address and a phone number placed in the User-Agent arrived at Sentry verbatim,
because headers were filtered by a list of known-dangerous names. Here an e-mail address and a phone number
are planted in every header, the path, the query string, cookies, the body, the user, extra, tags, contexts,
breadcrumbs and the exception, and none of them arrives: not in the Sentry error event, not in the Sentry
transaction, not in the OpenTelemetry span. A control run without the scrubbing shows the plants do reach
the SDKs, so the assertions test the scrubbing and not a quiet SDK default.
"""

import json
import logging

import pytest
import sentry_sdk
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from sentry_sdk.transport import Transport

from manas360 import observability
from manas360.observability import ScrubbingSpanExporter, scrub_event

EMAIL = "priya.sharma@example.com"
PHONE = "+919876543210"
PLANT = f"{EMAIL} {PHONE}"
# Any of these in what leaves the process means the plant got through (whole or in its recognisable parts).
LEAKS = (EMAIL, "priya.sharma", "priya", "9876543210", "98765")

# Every header a client can send that Django's test client lets us set (Host is checked by ALLOWED_HOSTS).
HEADERS = {
    "HTTP_USER_AGENT": f"Mozilla/5.0 ({PLANT})",
    "HTTP_REFERER": f"https://evil.example/?who={EMAIL}&phone={PHONE}",
    "HTTP_ACCEPT": f"application/json, text/{PLANT}",
    "HTTP_ACCEPT_LANGUAGE": PLANT,
    "HTTP_X_REQUEST_ID": PLANT,
    "HTTP_X_FORWARDED_FOR": PLANT,
    "HTTP_X_REAL_IP": PLANT,
    "HTTP_ORIGIN": PLANT,
    "HTTP_AUTHORIZATION": f"Bearer {PLANT}",
    "HTTP_X_CSRF_TOKEN": PLANT,
    "HTTP_X_CUSTOM_PROFILE": PLANT,
    "HTTP_FORWARDED": PLANT,
    "HTTP_VIA": PLANT,
    "HTTP_FROM": PLANT,
}
PLANTED_PATH = f"/_test/observability/{EMAIL}/{PHONE}"

log = logging.getLogger("manas360.tests.observability")


@csrf_exempt
def boom(request, rest):
    sentry_sdk.set_user({"id": EMAIL, "email": EMAIL, "username": PHONE, "ip_address": "203.0.113.9"})
    sentry_sdk.set_tag("patient", PLANT)
    sentry_sdk.set_tag(EMAIL, PHONE)
    sentry_sdk.set_extra("who", PLANT)
    sentry_sdk.set_extra(PHONE, {"nested": [PLANT, {EMAIL: PHONE}]})
    sentry_sdk.set_context("patient", {"contact": PLANT, "notes": [PLANT]})
    sentry_sdk.add_breadcrumb(category="custom", message=PLANT, data={"url": f"/x?{PLANT}", "anything": PLANT})
    log.warning("looking up %s", PLANT)
    raise ValueError(f"no account for {PLANT}")


@csrf_exempt
def fine(request, rest):
    return HttpResponse("ok")


urlpatterns = [
    path("_test/observability/<path:rest>", boom),
    path("_test/fine/<path:rest>", fine),
]


class _Captured(Transport):
    envelopes: list = []

    def capture_envelope(self, envelope):
        type(self).envelopes.append(envelope)


@pytest.fixture(autouse=True)
def _urls(settings):
    settings.ROOT_URLCONF = __name__


def _planted_request(client_path: str) -> int:
    """The request through Django's real WSGI entry point (which the Sentry SDK wraps), as a server calls it."""
    environ = (
        RequestFactory()
        .post(
            f"{client_path}?email={EMAIL}&phone={PHONE}",
            data=json.dumps({"email": EMAIL, "phone": PHONE}),
            content_type="application/json",
            HTTP_COOKIE=f"sessionid={EMAIL}; contact={PHONE}",
            **HEADERS,
        )
        .environ
    )
    statuses = []
    response = WSGIHandler()(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(response)
    response.close()
    return int(statuses[0].split()[0])


def _sentry_payloads(scrubber) -> list[dict]:
    _Captured.envelopes = []
    original = observability.scrub_event
    observability.scrub_event = scrubber  # configure_error_tracking reads it at init
    try:
        observability.configure_error_tracking(
            dsn="http://public@127.0.0.1:9/1",
            environment="test",
            release="1.0.0",
            traces_sample_rate=1.0,
            transport=_Captured,
        )
        with sentry_sdk.new_scope():
            assert _planted_request(PLANTED_PATH) == 500
        sentry_sdk.flush(timeout=5)
    finally:
        observability.scrub_event = original
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)
    return [
        item.payload.json
        for envelope in _Captured.envelopes
        for item in envelope.items
        if item.type in ("event", "transaction")
    ]


@pytest.mark.django_db
def test_sentry_receives_no_planted_email_or_phone_from_any_field():
    control = json.dumps(_sentry_payloads(lambda event, hint: event))
    assert "Mozilla/5.0 (" + PLANT in control  # without the allow-list the User-Agent arrives verbatim

    payloads = _sentry_payloads(scrub_event)
    assert {payload.get("type", "event") for payload in payloads} == {"event", "transaction"}
    text = json.dumps(payloads)
    for leak in LEAKS:
        assert leak not in text, leak
    error = next(payload for payload in payloads if payload.get("type", "event") == "event")
    # Still useful: what failed, where, and the allowed headers.
    assert error["exception"]["values"][0]["type"] == "ValueError"
    assert error["exception"]["values"][0]["value"] == "no account for [email] [phone]"
    assert set(error["request"]) == {"method", "url", "headers"}
    assert error["request"]["url"] == "http://testserver/_test/observability/[email]/[phone]"
    assert {name.lower() for name in error["request"]["headers"]} <= {
        "content-type",
        "content-length",
        "accept",
        "host",
        "x-request-id",
    }
    assert "User-Agent" not in error["request"]["headers"]
    assert error["request"]["headers"]["X-Request-Id"] == "[redacted]"
    assert error["user"] == {"id": "[email]"}


def test_every_header_name_is_allow_listed_whatever_its_case_or_shape():
    event = {
        "request": {
            "method": "GET",
            "url": f"https://api.example/p/{EMAIL}?q={PHONE}",
            "query_string": PLANT,
            "data": PLANT,
            "cookies": PLANT,
            "env": {"REMOTE_ADDR": PLANT},
            "headers": [["user-agent", PLANT], ["HOST", f"{EMAIL}.example"], ["X-Request-ID", PHONE[1:]]],
        },
        "threads": {"values": [{"stacktrace": {"frames": [{"vars": {"who": PLANT}}]}}]},
        "something_new": PLANT,
        "_meta": {"request": {"data": {"": {"len": 4, "rem": [[PLANT]]}}}},
        "exception": {"values": [{"type": "E", "value": PLANT, "stacktrace": {"frames": [{"vars": {"x": PLANT}}]}}]},
    }
    scrubbed = scrub_event(event, {})
    text = json.dumps(scrubbed)
    for leak in LEAKS:
        assert leak not in text, leak
    assert scrubbed["request"] == {
        "method": "GET",
        "url": "https://api.example/p/[email]",
        "headers": {"HOST": "[email]", "X-Request-ID": "[redacted]"},
    }
    assert "something_new" not in scrubbed
    assert "threads" not in scrubbed
    assert scrubbed["exception"]["values"][0]["stacktrace"]["frames"] == [{}]


def test_a_generated_request_id_and_trace_ids_are_kept():
    request_id = "550e8400-e29b-41d4-a716-446655440000"
    trace_id = "12345678901234567890123456789012"
    event = {
        "request": {"method": "GET", "url": "/", "headers": {"X-Request-ID": request_id, "Content-Length": "12"}},
        "contexts": {"trace": {"trace_id": trace_id, "span_id": "1234567890123456", "op": "http.server"}},
    }
    scrubbed = scrub_event(event, {})
    assert scrubbed["request"]["headers"] == {"X-Request-ID": request_id, "Content-Length": "12"}
    assert scrubbed["contexts"]["trace"] == {"trace_id": trace_id, "span_id": "1234567890123456", "op": "http.server"}


def _traced(monkeypatch, wrap) -> list[dict]:
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    # Ask the instrumentation to record every request and response header as span attributes: the allow-list
    # must hold even when an operator turns that on.
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", ".*")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE", ".*")
    monkeypatch.setattr(observability, "ScrubbingSpanExporter", wrap)
    exporter = InMemorySpanExporter()
    assert observability.configure_tracing(endpoint="", service_name="manas360-test", release="1", exporter=exporter)
    try:
        assert _planted_request(PLANTED_PATH) == 500
        assert _planted_request(f"/_test/fine/{EMAIL}") == 200
    finally:
        DjangoInstrumentor().uninstrument()
    spans = exporter.get_finished_spans()
    assert len(spans) == 2
    return [
        {
            "name": span.name,
            "attributes": dict(span.attributes),
            "events": [{"name": event.name, "attributes": dict(event.attributes)} for event in span.events],
            "status": span.status.description,
        }
        for span in spans
    ]


class _PassThrough:
    def __init__(self, inner):
        self.inner = inner

    def export(self, spans):
        return self.inner.export(spans)

    def shutdown(self):
        return self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)


@pytest.mark.django_db
def test_opentelemetry_spans_carry_no_planted_email_or_phone(monkeypatch):
    control = json.dumps(_traced(monkeypatch, _PassThrough), default=str)
    assert PLANT in control  # the instrumentation does record the plants (user agent, headers, exception)

    spans = _traced(monkeypatch, ScrubbingSpanExporter)
    text = json.dumps(spans, default=str)
    for leak in LEAKS:
        assert leak not in text, leak
    failed = spans[0]
    assert failed["attributes"]["http.status_code"] == 500 or failed["attributes"]["http.response.status_code"] == 500
    assert set(failed["attributes"]) <= observability._SPAN_ATTRIBUTES_KEPT
    exception = next(event for event in failed["events"] if event["name"] == "exception")
    assert exception["attributes"]["exception.type"] == "ValueError"
    assert exception["attributes"]["exception.message"] == "no account for [email] [phone]"
