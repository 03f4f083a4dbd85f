"""Production refuses unsafe shapes at start (issue: "Production refuses unsafe shapes at start").

The settings are loaded in a subprocess with DEBUG off and the variables of deploy/production.env.example,
one variable removed or spoiled at a time; each refusal must name the variable.
"""

import ipaddress
import re
import subprocess
import sys

import pytest
import yaml

from manas360 import config_checks
from manas360.server import prepare_metrics_dir, require_shared_cache
from tests.test_deployment import ROOT, _production_env

LOAD_SETTINGS = "import django; django.setup(); from django.conf import settings; print(settings.CACHES['default'])"


def _start(**changes):
    env = {**_production_env(), "DJANGO_SETTINGS_MODULE": "manas360.settings"}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-c", LOAD_SETTINGS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_production_example_starts_with_redis():
    result = _start()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "RedisCache" in result.stdout


@pytest.mark.parametrize("name", ["REDIS_URL", "MFA_ENCRYPTION_KEY"])
def test_a_missing_variable_stops_start_up_and_is_named(name):
    result = _start(**{name: None})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr.splitlines()[-1]


@pytest.mark.parametrize("value", ["not-a-fernet-key", "Yx1b3u0tpJ5bQ1vU2TQ3n0dC8E4gS7Wq9xZr2Lm6NkA=,short"])
def test_a_malformed_mfa_key_stops_start_up(value):
    result = _start(MFA_ENCRYPTION_KEY=value)
    assert result.returncode != 0
    assert "MFA_ENCRYPTION_KEY" in result.stderr.splitlines()[-1]


def test_metrics_need_a_token_or_internal_networks():
    no_token = _start(METRICS_TOKEN=None)
    assert no_token.returncode != 0
    assert "METRICS_TOKEN" in no_token.stderr.splitlines()[-1]

    internal_only = _start(METRICS_TOKEN=None, METRICS_ALLOWED_NETWORKS="10.0.0.0/8,fd00::/8")
    assert internal_only.returncode == 0, internal_only.stderr[-2000:]

    public = _start(METRICS_TOKEN=None, METRICS_ALLOWED_NETWORKS="10.0.0.0/8,0.0.0.0/0")
    assert public.returncode != 0
    assert "METRICS_ALLOWED_NETWORKS" in public.stderr.splitlines()[-1]


def test_server_refuses_several_workers_without_a_shared_cache():
    with pytest.raises(SystemExit, match="REDIS_URL"):
        require_shared_cache(3, {"DEBUG": "1"})
    with pytest.raises(SystemExit, match="REDIS_URL"):
        require_shared_cache(3, {"DEBUG": "1", "REDIS_URL": " "})
    require_shared_cache(3, {"REDIS_URL": "redis://cache.internal:6379/0"})  # no SystemExit


def test_server_allows_one_worker_without_redis():
    require_shared_cache(1, {"DEBUG": "1"})  # no SystemExit
    # One worker needs no shared metrics directory: none is created or announced.
    environ = {"DEBUG": "1"}
    assert prepare_metrics_dir(1, environ) is None
    assert environ == {"DEBUG": "1"}


@pytest.mark.django_db
def test_metrics_bound_to_internal_networks_answer_only_there(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    outside = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert outside.status_code == 404
    assert outside.json()["code"] == "not_found"
    inside = client.get("/metrics", REMOTE_ADDR="10.20.30.40")
    assert inside.status_code == 200
    assert b"http_requests_total" in inside.content


# --- Sign-in codes: every sign-in method has a working channel (docs/auth.md "Delivery") -------------------


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"OTP_WHATSAPP_ACCESS_TOKEN": None}, "OTP_WHATSAPP_ACCESS_TOKEN"),
        ({"OTP_MSG91_TEMPLATE_ID": ""}, "OTP_MSG91_TEMPLATE_ID"),
        ({"EMAIL_HOST": None}, "EMAIL_HOST"),
        ({"DEFAULT_FROM_EMAIL": None}, "DEFAULT_FROM_EMAIL"),
        ({"EMAIL_HOST_PASSWORD": None}, "EMAIL_HOST_PASSWORD"),
        ({"OTP_PHONE_CHANNELS": ""}, "OTP_PHONE_CHANNELS"),
        ({"OTP_PHONE_CHANNELS": "whatsapp,telegram"}, "OTP_PHONE_CHANNELS"),
        ({"OTP_DELIVERY_CHANNEL": "accounts.otp_delivery.ConsoleChannel"}, "OTP_DELIVERY_CHANNEL"),
        ({"EMAIL_USE_SSL": "1"}, "EMAIL_USE_SSL"),
    ],
)
def test_a_sign_in_method_without_a_working_channel_stops_start_up(changes, named):
    result = _start(**changes)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.splitlines()[-1]


def test_one_phone_channel_is_enough_when_it_is_the_only_one_listed():
    sms_only = _start(OTP_PHONE_CHANNELS="sms", OTP_WHATSAPP_ACCESS_TOKEN=None, OTP_WHATSAPP_PHONE_NUMBER_ID=None)
    assert sms_only.returncode == 0, sms_only.stderr[-2000:]
    whatsapp_only = _start(OTP_PHONE_CHANNELS="whatsapp", OTP_MSG91_AUTH_KEY=None)
    assert whatsapp_only.returncode == 0, whatsapp_only.stderr[-2000:]


def test_compose_delivers_codes_through_the_fakes_service_and_passes_the_start_up_check():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    values = {
        name: re.sub(r"\$\{\w+:-(.*)\}", r"\1", str(value)) for name, value in compose["x-backend-environment"].items()
    }
    phone = config_checks.otp_delivery(
        delivery_channel=values["OTP_DELIVERY_CHANNEL"],
        phone_channels=values["OTP_PHONE_CHANNELS"].split(","),
        values=values,
        production=True,
    )
    assert phone == ["whatsapp", "sms"]
    assert values["OTP_WHATSAPP_API_URL"] == "http://otp-provider-fakes:8082"
    assert values["EMAIL_HOST"] == "otp-provider-fakes"
    fakes = compose["services"]["otp-provider-fakes"]
    assert "otp_provider_fakes" in fakes["command"]
    assert compose["services"]["backend"]["depends_on"]["otp-provider-fakes"]
