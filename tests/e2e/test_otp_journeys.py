"""Sign-in codes reach people (docs/auth.md "Delivery"): the API runs as production runs it (granian, DEBUG
off, not in test mode, the settings of deploy/production.env.example) and delivers through the local fakes of
the providers, over real HTTP and SMTP. So start-up accepts the configuration, each journey uses the
providers' own protocols, and the codes people type are the ones the providers were given.

Journeys: a phone sign-in through WhatsApp; one through SMS after WhatsApp refused; an email sign-in; an
email change confirmed by the code mailed to the new address.
"""

import pytest
import requests
from cryptography.fernet import Fernet

from accounts.models import OtpDeliveryAttempt, User
from accounts.tests.otp_fakes import otp_fakes  # noqa: F401  (the fakes, in this process)
from tests.test_deployment import ROOT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# The test run's database, Redis and keys stay; the rest is the production example as it is.
KEPT_FROM_TEST_RUN = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DB_CONN_MAX_AGE"}


def production_environment(fakes) -> dict[str, str]:
    env = {}
    for line in (ROOT / "deploy/production.env.example").read_text().splitlines():
        name, _, value = line.partition("=")
        if line.strip() and not line.startswith("#") and name not in KEPT_FROM_TEST_RUN:
            env[name] = value
    env.update(
        {
            "TESTING": "0",  # not the test mode: production defaults and start-up checks
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback, no TLS proxy in front
            "TRUSTED_PROXY_COUNT": "0",
            "WEB_WORKERS": "1",
            "MFA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        }
    )
    env.update(fakes.environment())  # the providers' addresses and credentials: the fakes
    return env


class Api:
    def __init__(self, server):
        self.server = server
        self.token = None

    def call(self, method, path, expected, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.server.request(method, "/api/v1" + path, headers=headers, **kwargs)
        assert response.status_code == expected, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


@pytest.fixture
def production_api(web_servers, otp_fakes, redis_cache):  # noqa: F811
    (server,) = web_servers.start(env=production_environment(otp_fakes))
    return Api(server)


def test_phone_sign_in_by_whatsapp_and_by_sms_after_whatsapp_refused(production_api, otp_fakes):  # noqa: F811
    # 1. WhatsApp delivers: the code arrives as an authentication template and signs the patient in.
    sent = production_api.call("POST", "/auth/send-otp", 200, json={"phone": "98765 01234"})
    assert sent["data"]["channel"] == "whatsapp"
    code = otp_fakes.last_code("+919876501234", channel="whatsapp", wait_seconds=5)
    verified = production_api.call("POST", "/auth/verify-otp", 200, json={"phone": "98765 01234", "otp": code})
    assert verified["user"]["phoneNumber"] == "+919876501234"
    assert verified["data"]["isNewUser"] is True

    # 2. WhatsApp refuses (the number is not on WhatsApp): the same request falls back to SMS by MSG91.
    otp_fakes.fail("whatsapp")
    sent = production_api.call("POST", "/auth/send-otp", 200, json={"phone": "+919876505678"})
    assert sent["data"]["channel"] == "sms"
    assert otp_fakes.last_code("+919876505678", channel="whatsapp") is None
    code = otp_fakes.last_code("+919876505678", channel="sms", wait_seconds=5)
    verified = production_api.call("POST", "/auth/verify-otp", 200, json={"phone": "+919876505678", "otp": code})
    assert verified["user"]["phoneNumber"] == "+919876505678"

    attempts = list(OtpDeliveryAttempt.objects.order_by("pk").values_list("channel", "outcome", "provider_error_code"))
    assert attempts == [("whatsapp", "sent", ""), ("whatsapp", "failed", "131026"), ("sms", "sent", "")]


def test_email_sign_in_and_email_change_by_smtp(production_api, otp_fakes):  # noqa: F811
    # 3. An email sign-in: the code is mailed over SMTP (with the credentials the fake demands).
    sent = production_api.call("POST", "/auth/send-otp", 200, json={"email": "meera@example.com"})
    assert sent["data"]["channel"] == "email"
    code = otp_fakes.last_code("meera@example.com", channel="email", wait_seconds=5)
    verified = production_api.call("POST", "/auth/verify-otp", 200, json={"email": "meera@example.com", "otp": code})
    assert verified["user"]["email"] == "meera@example.com"
    production_api.token = verified["data"]["tokens"]["accessToken"]

    # 4. Changing the address: the code goes to the new one and confirming it moves the account there.
    pending = production_api.call("POST", "/users/me/email-change", 200, json={"email": "meera.new@example.com"})
    assert pending["data"]["pendingEmail"] == "meera.new@example.com"
    code = otp_fakes.last_code("meera.new@example.com", channel="email", wait_seconds=5)
    production_api.call("POST", "/users/me/email-change/confirm", 200, json={"code": code})
    assert User.objects.get(pk=verified["user"]["id"]).email == "meera.new@example.com"
    purposes = list(OtpDeliveryAttempt.objects.order_by("pk").values_list("purpose", "channel", "outcome"))
    assert purposes == [("sign_in", "email", "sent"), ("email_change", "email", "sent")]


def test_the_fakes_refuse_what_the_providers_refuse(otp_fakes):  # noqa: F811
    """The fakes check credentials like the providers, so a journey through them proves our requests."""
    whatsapp = requests.post(
        f"{otp_fakes.url}/v23.0/100000000000001/messages", json={}, headers={"Authorization": "Bearer x"}, timeout=5
    )
    assert whatsapp.status_code == 401
    assert whatsapp.json()["error"]["code"] == 190
    msg91 = requests.post(f"{otp_fakes.url}/api/v5/flow", json={}, headers={"authkey": "x"}, timeout=5)
    assert msg91.json() == {"type": "error", "message": "Authentication failure", "code": "201"}
