"""Rate limits (docs/api.md §10) and their failure mode."""

import logging
import os

import pytest

from accounts.tests.helpers import ADMIN_LOGIN, SEND, VERIFY, VERIFY_MFA
from manas360.api.throttling import parse_rate

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("rate", "parsed"), [("300/m", (300, 60)), ("5/15m", (5, 900)), ("1000/min", (1000, 60)), ("10/900s", (10, 900))]
)
def test_parse_rate(rate, parsed):
    assert parse_rate(rate) == parsed


def test_parse_rate_rejects_nonsense():
    with pytest.raises(ValueError, match="Bad rate"):
        parse_rate("often")


def _send(client, phone, **extra):
    return client.post(SEND, {"phoneNumber": phone}, format="json", **extra)


def test_send_otp_per_identifier_limit_is_429_with_headers(api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "send_otp_identifier": "2/15m"}
    settings.OTP_RESEND_COOLDOWN_SECONDS = 0
    first = _send(api_client, "+919812345678")
    assert first["RateLimit-Limit"] == "2"
    assert first["RateLimit-Remaining"] == "1"
    assert 0 < int(first["RateLimit-Reset"]) <= 900
    assert _send(api_client, "9812345678").status_code == 200  # same number, other spelling
    third = _send(api_client, "+91 98123 45678")
    assert third.status_code == 429
    body = third.json()
    assert body["code"] == "throttled"
    assert int(third["Retry-After"]) > 0
    assert body["retryAfter"] == int(third["Retry-After"])
    assert third["RateLimit-Remaining"] == "0"
    # Another number is not affected.
    assert _send(api_client, "+919812345679").status_code == 200


def test_send_otp_per_ip_limit(api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "send_otp_ip": "2/15m"}
    assert _send(api_client, "+919812345671").status_code == 200
    assert _send(api_client, "+919812345672").status_code == 200
    assert _send(api_client, "+919812345673").status_code == 429


def test_limits_key_on_the_real_client_ip_behind_trusted_proxies(api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "send_otp_ip": "1/15m"}
    settings.TRUSTED_PROXY_COUNT = 1
    # Same proxy address, different clients: separate budgets.
    assert _send(api_client, "+919812345671", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
    assert _send(api_client, "+919812345672", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200
    # A spoofed left-most entry does not buy a new budget.
    spoofed = _send(api_client, "+919812345673", HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.1")
    assert spoofed.status_code == 429


def test_without_trusted_proxies_forwarded_for_is_ignored(api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "send_otp_ip": "1/15m"}
    settings.TRUSTED_PROXY_COUNT = 0
    assert _send(api_client, "+919812345671", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
    assert _send(api_client, "+919812345672", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 429


def test_verify_otp_per_identifier_limit(api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "verify_otp_identifier": "2/15m"}
    body = {"phoneNumber": "+919812345678", "otp": "123456"}
    assert api_client.post(VERIFY, body, format="json").status_code == 400
    assert api_client.post(VERIFY, body, format="json").status_code == 400
    assert api_client.post(VERIFY, body, format="json").status_code == 429


@pytest.mark.parametrize("path", [ADMIN_LOGIN, VERIFY_MFA])
def test_admin_login_and_verify_mfa_per_ip_limit(api_client, settings, path):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin_login_ip": "2/15m", "verify_mfa_ip": "2/15m"}
    for _ in range(2):
        assert api_client.post(path, {}, format="json").status_code == 401
    response = api_client.post(path, {}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"


def test_anonymous_global_limit(api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "anon": "2/m"}
    api_client.post(ADMIN_LOGIN, {}, format="json")
    api_client.post(ADMIN_LOGIN, {}, format="json")
    assert api_client.post(ADMIN_LOGIN, {}, format="json").status_code == 429


def test_signed_in_global_limit_is_per_user(make_auth_client, settings):
    from accounts.tests.factories import UserFactory

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "user": "2/m"}
    first = make_auth_client(UserFactory())
    assert first.get("/api/v1/users/me").status_code == 200
    assert first.get("/api/v1/users/me")["RateLimit-Limit"] == "2"
    throttled = first.get("/api/v1/users/me")
    assert throttled.status_code == 429
    assert "Retry-After" in throttled
    assert make_auth_client(UserFactory()).get("/api/v1/users/me").status_code == 200


def test_health_is_not_limited(api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "anon": "1/m"}
    for _ in range(3):
        assert api_client.get("/health").status_code == 200


def test_limits_are_shared_through_real_redis(api_client, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["TEST_REDIS_URL"]}
    }
    from django.core.cache import cache

    cache.clear()
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "send_otp_ip": "1/15m"}
    assert _send(api_client, "+919812345671").status_code == 200
    assert _send(api_client, "+919812345672").status_code == 429
    cache.clear()


def test_cache_outage_fails_open_with_a_warning(api_client, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "send_otp_ip": "1/15m"}
    with caplog.at_level(logging.WARNING, logger="manas360.throttling"):
        assert _send(api_client, "+919812345671").status_code == 200
        # The OTP cooldown lives in the database: still enforced without the cache.
        assert _send(api_client, "+919812345671").json()["code"] == "otp_resend_too_soon"
    assert any("rate limit cache unavailable" in record.message for record in caplog.records)
