"""GET /health is answered early (HealthProbeMiddleware) with exactly what the full middleware chain gives it."""

import logging

import pytest
from django.conf import settings
from django.middleware.common import CommonMiddleware
from django.test import Client

PROBE = "manas360.middleware.HealthProbeMiddleware"


@pytest.fixture
def full_chain(settings):
    """The same settings without the shortcut: the reference behaviour."""

    def use(enabled: bool):
        if enabled:
            settings.MIDDLEWARE = list(_WITH)
        else:
            settings.MIDDLEWARE = [name for name in _WITH if name != PROBE]

    return use


_WITH = tuple(settings.MIDDLEWARE)


def _headers(response) -> dict:
    return {name: value for name, value in response.headers.items() if name != "Content-Length"}


def test_the_probe_is_installed_right_after_the_request_context():
    assert _WITH.index(PROBE) == _WITH.index("manas360.middleware.RequestContextMiddleware") + 1


@pytest.mark.parametrize(
    "extra",
    [
        {"HTTP_X_REQUEST_ID": "probe-1"},
        {"secure": True, "HTTP_X_REQUEST_ID": "probe-2"},
        {"HTTP_ORIGIN": "http://localhost:3000", "HTTP_X_REQUEST_ID": "probe-3"},
        {"HTTP_HOST": "evil.example", "HTTP_X_REQUEST_ID": "probe-4"},
    ],
)
def test_same_status_and_headers_as_the_full_chain(full_chain, settings, extra):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
    answers = []
    for enabled in (False, True):
        full_chain(enabled)
        answers.append(Client().get("/health", **extra))  # a new client loads the middleware anew
    reference, shortcut = answers
    assert shortcut.status_code == reference.status_code
    assert _headers(shortcut) == _headers(reference)
    if reference.status_code == 200:
        assert shortcut.json().keys() == reference.json().keys()


@pytest.mark.parametrize("method", ["post", "head", "options", "delete"])
def test_other_methods_take_the_normal_path(full_chain, method):
    full_chain(False)
    reference = getattr(Client(), method)("/health")
    full_chain(True)
    shortcut = getattr(Client(), method)("/health")
    assert shortcut.status_code == reference.status_code


def test_the_shortcut_skips_the_inner_middlewares(client, monkeypatch):
    def fail(self, request):
        raise AssertionError("the inner chain ran")

    monkeypatch.setattr(CommonMiddleware, "process_request", fail)
    response = client.get("/health")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    with pytest.raises(AssertionError, match="inner chain"):
        client.get("/health/db")  # any other path still goes through the whole chain


def test_access_log_and_metrics_keep_the_route(client, caplog):
    with caplog.at_level(logging.INFO, logger="manas360.access"):
        assert client.get("/health", HTTP_X_REQUEST_ID="probe-log").status_code == 200
    record = next(record for record in caplog.records if record.name == "manas360.access")
    assert record.route == "health"
    assert record.status == 200
    metrics_body = client.get("/metrics").content.decode()
    assert 'route="health"' in metrics_body


def test_disallowed_user_agents_still_apply(settings):
    import re

    settings.DISALLOWED_USER_AGENTS = [re.compile(r"BadBot")]
    client = Client()
    assert client.get("/health", HTTP_USER_AGENT="BadBot/1.0").status_code == 403
    assert client.get("/health", HTTP_USER_AGENT="kube-probe/1.29").status_code == 200


def test_ssl_redirect_exemption_is_the_security_middlewares(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = []
    assert Client().get("/health").status_code == 301
    settings.SECURE_REDIRECT_EXEMPT = [r"^health"]
    assert Client().get("/health").status_code == 200
