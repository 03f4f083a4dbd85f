"""OTP delivery through the providers' protocols (docs/auth.md "Delivery"), against the local fakes over
loopback: WhatsApp Cloud API, MSG91 and SMTP, the fallback from WhatsApp to SMS, timeouts, the attempts
recorded, and nothing secret in the logs."""

import logging
import socket
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts import otp_delivery
from accounts.models import EmailChangeRequest, OtpChallenge, OtpDeliveryAttempt, User
from accounts.otp_delivery import recipient_key
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import SEND, VERIFY

pytestmark = pytest.mark.django_db

PHONE = "+919812345678"
EMAIL = "asha@example.com"


def send(client, **body):
    return client.post(SEND, body, format="json")


def attempts():
    return list(OtpDeliveryAttempt.objects.order_by("pk"))


def test_a_phone_code_goes_by_whatsapp_as_an_authentication_template_and_signs_in(api_client, otp_fakes):
    response = send(api_client, phoneNumber="98123 45678")

    assert response.status_code == 200
    assert response.json()["data"]["channel"] == "whatsapp"
    (delivered,) = otp_fakes.messages
    assert (delivered["channel"], delivered["to"]) == ("whatsapp", PHONE)
    assert otp_delivery.outbox == []  # the production channel, not the test capture
    (attempt,) = attempts()
    assert (attempt.channel, attempt.provider, attempt.outcome) == ("whatsapp", "meta_cloud", "sent")
    assert attempt.provider_message_id == delivered["id"]
    assert attempt.provider_message_id.startswith("wamid.")
    assert attempt.purpose == "sign_in"
    assert attempt.recipient_masked == "***5678"
    assert attempt.recipient_key == recipient_key(PHONE)
    assert attempt.http_status == 200
    verified = api_client.post(VERIFY, {"phoneNumber": PHONE, "otp": delivered["code"]}, format="json")
    assert verified.status_code == 200
    assert verified.json()["user"]["phoneNumber"] == PHONE


def test_a_refused_whatsapp_message_falls_back_to_sms(api_client, otp_fakes):
    otp_fakes.fail("whatsapp")  # Graph 400, error.code 131026: the number is not on WhatsApp

    response = send(api_client, phoneNumber=PHONE)

    assert response.status_code == 200
    assert response.json()["data"]["channel"] == "sms"
    assert OtpChallenge.objects.get(identifier=PHONE).channel == "sms"
    failed, sent = attempts()
    assert (failed.channel, failed.outcome, failed.provider_error_code, failed.http_status) == (
        "whatsapp",
        "failed",
        "131026",
        400,
    )
    assert (sent.channel, sent.provider, sent.outcome, sent.provider_error_code) == ("sms", "msg91", "sent", "")
    code = otp_fakes.last_code(PHONE, channel="sms")
    assert [message["channel"] for message in otp_fakes.messages] == ["sms"]
    assert api_client.post(VERIFY, {"phoneNumber": PHONE, "otp": code}, format="json").status_code == 200


def test_asking_again_while_the_code_is_unused_tries_the_next_channel_first(api_client, otp_fakes):
    """WhatsApp may accept a message it then fails to deliver: a second request while unused goes by SMS."""
    start = timezone.now()
    channels = []
    for step in range(3):
        with time_machine.travel(start + timedelta(seconds=61 * step), tick=False):
            channels.append(send(api_client, phoneNumber=PHONE).json()["data"]["channel"])
    assert channels == ["whatsapp", "sms", "whatsapp"]
    assert [message["channel"] for message in otp_fakes.messages] == ["whatsapp", "sms", "whatsapp"]

    code = otp_fakes.last_code(PHONE)
    assert api_client.post(VERIFY, {"phoneNumber": PHONE, "otp": code}, format="json").status_code == 200
    with time_machine.travel(start + timedelta(seconds=61 * 4), tick=False):
        # The last code was used: it arrived, so the next one goes by the first channel again.
        assert send(api_client, phoneNumber=PHONE).json()["data"]["channel"] == "whatsapp"


def test_the_next_channel_falls_back_to_the_first_when_it_refuses(api_client, otp_fakes):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        send(api_client, phoneNumber=PHONE)
    otp_fakes.fail("sms")
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        response = send(api_client, phoneNumber=PHONE)
    assert response.json()["data"]["channel"] == "whatsapp"
    assert [(a.channel, a.outcome) for a in attempts()] == [
        ("whatsapp", "sent"),
        ("sms", "failed"),
        ("whatsapp", "sent"),
    ]


def test_when_every_channel_refuses_it_is_502_with_no_usable_code(api_client, otp_fakes):
    otp_fakes.fail("whatsapp", code="130429", status=429)
    otp_fakes.fail("sms")  # MSG91 answers HTTP 200 with {"type": "error", "code": "301"}: not a success

    response = send(api_client, phoneNumber=PHONE)

    assert response.status_code == 502
    assert response.json()["code"] == "otp_delivery_failed"
    assert not OtpChallenge.objects.exists()
    assert [(a.channel, a.outcome, a.provider_error_code, a.http_status) for a in attempts()] == [
        ("whatsapp", "failed", "130429", 429),
        ("sms", "failed", "301", 200),
    ]
    assert otp_fakes.messages == []


def test_a_provider_that_does_not_answer_times_out_and_the_next_channel_delivers(api_client, otp_fakes, settings):
    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    settings.OTP_WHATSAPP_API_URL = f"http://127.0.0.1:{silent.getsockname()[1]}"
    settings.OTP_PROVIDER_TIMEOUT_SECONDS = 0.5
    try:
        response = send(api_client, phoneNumber=PHONE)
    finally:
        silent.close()

    assert response.status_code == 200
    assert response.json()["data"]["channel"] == "sms"
    failed, sent = attempts()
    assert (failed.channel, failed.provider_error_code) == ("whatsapp", "ReadTimeout")
    assert failed.duration_ms < 3000
    assert sent.channel == "sms"


def test_a_wrong_whatsapp_token_is_refused_with_graphs_code(api_client, otp_fakes, settings):
    settings.OTP_WHATSAPP_ACCESS_TOKEN = "expired-token"
    settings.OTP_PHONE_CHANNELS = ["whatsapp"]

    response = send(api_client, phoneNumber=PHONE)

    assert response.status_code == 502
    (attempt,) = attempts()
    assert (attempt.provider_error_code, attempt.http_status) == ("190", 401)


def test_a_wrong_msg91_auth_key_is_refused(api_client, otp_fakes, settings):
    settings.OTP_MSG91_AUTH_KEY = "not-the-key"
    settings.OTP_PHONE_CHANNELS = ["sms"]

    response = send(api_client, phoneNumber=PHONE)

    assert response.status_code == 502
    (attempt,) = attempts()
    assert (attempt.channel, attempt.provider_error_code, attempt.http_status) == ("sms", "201", 401)


def test_sms_alone_when_it_is_the_only_phone_channel(api_client, otp_fakes, settings):
    settings.OTP_PHONE_CHANNELS = ["sms"]

    response = send(api_client, phoneNumber=PHONE)

    assert response.json()["data"]["channel"] == "sms"
    assert [message["channel"] for message in otp_fakes.messages] == ["sms"]


def test_no_configured_channel_is_503_and_no_attempt(api_client, otp_fakes, settings):
    settings.OTP_WHATSAPP_ACCESS_TOKEN = ""
    settings.OTP_MSG91_AUTH_KEY = ""

    response = send(api_client, phoneNumber=PHONE)

    assert response.status_code == 503
    assert response.json()["code"] == "otp_delivery_unavailable"
    assert not OtpChallenge.objects.exists()
    assert attempts() == []


def test_an_email_code_goes_by_smtp_and_signs_in(api_client, otp_fakes):
    response = send(api_client, email="Asha@Example.com")

    assert response.status_code == 200
    assert response.json()["data"]["channel"] == "email"
    (delivered,) = otp_fakes.messages
    assert (delivered["channel"], delivered["to"]) == ("email", EMAIL)
    (attempt,) = attempts()
    assert (attempt.channel, attempt.provider, attempt.outcome) == ("email", "smtp", "sent")
    assert attempt.provider_message_id == delivered["id"]
    assert attempt.recipient_masked == "a***@example.com"
    verified = api_client.post(VERIFY, {"email": EMAIL, "otp": delivered["code"]}, format="json")
    assert verified.status_code == 200
    assert verified.json()["user"]["email"] == EMAIL


def test_a_refused_recipient_is_502_with_the_smtp_reply_code(api_client, otp_fakes):
    otp_fakes.fail("email")

    response = send(api_client, email=EMAIL)

    assert response.status_code == 502
    assert response.json()["code"] == "otp_delivery_failed"
    (attempt,) = attempts()
    assert (attempt.channel, attempt.outcome, attempt.provider_error_code) == ("email", "failed", "550")
    assert not OtpChallenge.objects.exists()


def test_wrong_smtp_credentials_are_refused(api_client, otp_fakes, settings):
    settings.EMAIL_HOST_PASSWORD = "wrong"

    response = send(api_client, email=EMAIL)

    assert response.status_code == 502
    assert attempts()[0].provider_error_code == "535"


def test_an_email_change_code_goes_by_smtp(make_auth_client, otp_fakes):
    client = make_auth_client(UserFactory(email="old@example.com", phone_number="+919800000002"))

    response = client.post("/api/v1/users/me/email-change", {"email": "new@example.com"}, format="json")

    assert response.status_code == 200
    code = otp_fakes.last_code("new@example.com", channel="email")
    (attempt,) = attempts()
    assert (attempt.purpose, attempt.channel, attempt.outcome) == ("email_change", "email", "sent")
    confirmed = client.post("/api/v1/users/me/email-change/confirm", {"code": code}, format="json")
    assert confirmed.status_code == 200
    assert User.objects.get(pk=client.user.pk).email == "new@example.com"


def test_a_refused_email_change_leaves_nothing_pending(make_auth_client, otp_fakes):
    client = make_auth_client(UserFactory(email="old@example.com", phone_number="+919800000003"))
    otp_fakes.fail("email")

    response = client.post("/api/v1/users/me/email-change", {"email": "new@example.com"}, format="json")

    assert response.status_code == 502
    assert not EmailChangeRequest.objects.exists()
    assert User.objects.get(pk=client.user.pk).email == "old@example.com"


def test_neither_the_code_nor_the_number_reaches_the_logs_or_the_attempts(api_client, otp_fakes, caplog):
    otp_fakes.fail("whatsapp")
    caplog.set_level(logging.DEBUG)

    send(api_client, phoneNumber=PHONE)

    code = otp_fakes.last_code(PHONE)
    assert code
    standard = set(logging.makeLogRecord({}).__dict__)  # timestamps and thread ids could hold any 6 digits
    logged = "\n".join(
        f"{record.getMessage()} {[v for k, v in record.__dict__.items() if k not in standard]}"
        for record in caplog.records
    )
    assert "131026" in logged  # the provider's code is logged
    assert code not in logged
    assert PHONE not in logged
    assert PHONE[1:] not in logged
    for attempt in attempts():
        values = " ".join(str(value) for value in attempt.__dict__.values())
        assert code not in values
        assert PHONE[3:] not in values


def test_attempts_are_counted_for_metrics(api_client, otp_fakes):
    labels = {"channel": "whatsapp", "provider": "meta_cloud", "outcome": "failed"}
    before = REGISTRY.get_sample_value("otp_delivery_attempts_total", labels) or 0
    otp_fakes.fail("whatsapp")

    send(api_client, phoneNumber=PHONE)

    assert REGISTRY.get_sample_value("otp_delivery_attempts_total", labels) == before + 1


def test_an_unexpected_error_in_a_sender_is_a_refusal_and_the_next_channel_delivers(api_client, otp_fakes, monkeypatch):
    def broken(self, **kwargs):
        raise KeyError("unexpected")

    monkeypatch.setattr("accounts.otp_providers.whatsapp.WhatsAppCloudSender.send", broken)

    response = send(api_client, phoneNumber=PHONE)

    assert response.status_code == 200
    assert response.json()["data"]["channel"] == "sms"
    assert [(a.channel, a.outcome, a.provider_error_code) for a in attempts()] == [
        ("whatsapp", "failed", "KeyError"),
        ("sms", "sent", ""),
    ]
