"""Optional Sentry and OpenTelemetry: off unless configured, and nothing personal leaves the process."""

import json
import sys

import pytest
import sentry_sdk
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from sentry_sdk.transport import Transport

from manas360 import observability
from manas360.observability import REDACTED, scrub_event

PHONE = "+919876543210"
EMAIL = "priya.sharma@example.com"
# Named here, not written where the event is raised: Sentry sends the source lines around a raise.
CLIENT_IP = "203.0.113.9"
OTP = "123456"


def _event() -> dict:
    return {
        "message": f"OTP sent to {PHONE}",
        "request": {
            "method": "POST",
            "url": f"https://api.example/api/v1/auth/verify-otp?phone={PHONE}",
            "query_string": f"phone={PHONE}",
            "data": {"phone": PHONE, "otp": "123456"},
            "cookies": {"sessionid": "abc"},
            "headers": {
                "Authorization": "Bearer eyJhbGciOi",
                "Cookie": "sessionid=abc",
                "X-CSRFToken": "csrf-value-77",
                "Content-Type": "application/json",
                "X-Request-ID": "req-1",
            },
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        },
        "user": {"id": "42", "email": EMAIL, "ip_address": "203.0.113.9", "username": EMAIL},
        "extra": {"code": "otp_invalid", "otp": "123456", "nested": {"refresh_token": "x", "plan": "premium"}},
        "tags": {"phone_number": PHONE, "endpoint": "verify-otp"},
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"no account for {EMAIL} / {PHONE}",
                    "stacktrace": {"frames": [{"function": "verify", "vars": {"otp": "123456"}}]},
                }
            ]
        },
        "breadcrumbs": {"values": [{"message": f"lookup {EMAIL}", "data": {"password": "hunter2"}}]},
    }


def test_scrubbed_event_keeps_no_personal_data_or_secrets():
    scrubbed = scrub_event(_event(), {})
    text = json.dumps(scrubbed)
    for secret in (
        PHONE,
        "9876543210",
        EMAIL,
        "123456",
        "eyJhbGciOi",
        "sessionid",
        "203.0.113.9",
        "hunter2",
        "csrf-value-77",
    ):
        assert secret not in text
    assert scrubbed["request"] == {
        "method": "POST",
        "url": "https://api.example/api/v1/auth/verify-otp",
        "headers": {"Content-Type": "application/json", "X-Request-ID": "req-1"},
    }
    assert scrubbed["user"] == {"id": "42"}
    assert scrubbed["extra"]["otp"] == REDACTED
    assert scrubbed["extra"]["nested"]["refresh_token"] == REDACTED
    assert scrubbed["tags"]["phone_number"] == REDACTED
    assert "vars" not in scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]


def test_scrubbing_keeps_what_diagnoses_the_error():
    scrubbed = scrub_event(_event(), {})
    assert scrubbed["extra"]["code"] == "otp_invalid"  # error codes are not redacted
    assert scrubbed["extra"]["nested"]["plan"] == "premium"
    assert scrubbed["tags"]["endpoint"] == "verify-otp"
    assert scrubbed["exception"]["values"][0]["type"] == "ValueError"
    assert scrubbed["exception"]["values"][0]["value"] == "no account for [email] / [phone]"
    assert scrubbed["message"] == "OTP sent to [phone]"


def test_scrubbing_survives_deep_nesting():
    deep = current = {}
    for _ in range(200):
        current["child"] = {}
        current = current["child"]
    current["note"] = "write to patient@example.com"
    scrubbed = scrub_event({"extra": deep, "message": "call +919876543210"}, {})  # no RecursionError
    assert "patient@example.com" not in repr(scrubbed)
    assert scrubbed["message"] == "call [phone]"


class _Captured(Transport):
    envelopes: list = []

    def capture_envelope(self, envelope):
        type(self).envelopes.append(envelope)


@pytest.fixture
def sentry_off_afterwards():
    yield
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


def test_error_tracking_is_off_without_a_dsn():
    assert observability.configure_error_tracking(dsn="", environment="x", release="1", traces_sample_rate=0) is False
    assert not sentry_sdk.get_client().is_active()


def test_events_sent_to_sentry_are_scrubbed(sentry_off_afterwards):
    _Captured.envelopes = []
    started = observability.configure_error_tracking(
        dsn="http://public@127.0.0.1:9/1",
        environment="test",
        release="1.0.0",
        traces_sample_rate=0,
        transport=_Captured,
    )
    assert started is True
    with sentry_sdk.new_scope() as scope:
        scope.set_user({"id": "42", "email": EMAIL, "ip_address": CLIENT_IP})
        scope.set_extra("otp", OTP)
        scope.set_extra("code", "otp_invalid")
        try:
            raise ValueError(f"no account for {EMAIL}")
        except ValueError as error:
            sentry_sdk.capture_exception(error)
    sentry_sdk.flush(timeout=5)

    events = [item.payload.json for envelope in _Captured.envelopes for item in envelope.items if item.type == "event"]
    assert len(events) == 1
    event = events[0]
    text = json.dumps(event)
    assert EMAIL not in text
    assert CLIENT_IP not in text
    assert OTP not in text
    assert event["user"] == {"id": "42"}
    assert event["extra"]["code"] == "otp_invalid"
    assert event["release"] == "1.0.0"
    assert event["exception"]["values"][0]["value"] == "no account for [email]"


def test_tracing_is_off_without_an_endpoint(settings):
    middleware = list(settings.MIDDLEWARE)
    assert observability.configure_tracing(endpoint="", service_name="x", release="1") is False
    assert middleware == settings.MIDDLEWARE


def test_tracing_endpoint_without_the_packages_stops_start_up(monkeypatch):
    monkeypatch.setitem(sys.modules, "opentelemetry.instrumentation.django", None)
    with pytest.raises(ImproperlyConfigured, match=r"requirements-tracing\.txt"):
        observability.configure_tracing(endpoint="http://collector:4318", service_name="x", release="1")


@pytest.mark.django_db
def test_request_spans_carry_no_query_string_or_client_address():
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    assert observability.configure_tracing(endpoint="", service_name="manas360-test", release="1", exporter=exporter)
    try:
        assert Client().get(f"/?phone={PHONE}", REMOTE_ADDR="203.0.113.9").status_code == 200
        assert Client().get("/health").status_code == 200
    finally:
        DjangoInstrumentor().uninstrument()

    spans = exporter.get_finished_spans()
    assert [span.name for span in spans] == ["GET home"]  # one request span; /health is not traced
    attributes = dict(spans[0].attributes)
    text = json.dumps(attributes, default=str)
    assert "9876543210" not in text
    assert "203.0.113.9" not in text
    assert spans[0].resource.attributes["service.name"] == "manas360-test"
