"""JSON that parses but breaks what comes after it is a 400, never a 500 (issue: "No 500 from bad JSON").

Two shapes from an attack on every JSON endpoint: a kilobyte of nesting (a few hundred levels: the
camelCase walk and the renderers recurse) and a lone UTF-16 surrogate in a string (throttle-key hashing and
the database driver cannot encode it). Both answer 400 `invalid_json` and write nothing.
"""

import pytest

from accounts.models import AuditLog, AuthSession, OtpChallenge, User
from manas360.api.json_input import MAX_JSON_DEPTH, MalformedJson, loads_strict
from payments.models import WebhookEvent
from payments.phonepe.callback import callback_authorization
from tests.test_bad_input import WRITE_ENDPOINTS

pytestmark = pytest.mark.django_db

DEEP = '{"email": ' + "[" * 400 + "]" * 400 + ', "phoneNumber": ' + "{" + '"a":{' * 300 + "}" * 301 + "}"
SURROGATE_VALUE = '{"email": "\\ud800@example.com", "phoneNumber": "+9198\\udfff76543210", "firstName": "\\ud800"}'
SURROGATE_KEY = '{"\\udc00email": "someone@example.com", "planId": "premium_monthly"}'
HOSTILE_BODIES = [DEEP, SURROGATE_VALUE, SURROGATE_KEY]


def _counts():
    return (
        User.objects.count(),
        OtpChallenge.objects.count(),
        AuthSession.objects.count(),
        AuditLog.objects.count(),
        WebhookEvent.objects.count(),
    )


@pytest.mark.parametrize(("method", "path"), WRITE_ENDPOINTS)
@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=["deep", "surrogate-value", "surrogate-key"])
def test_every_json_endpoint_answers_400_invalid_json(auth_client, admin_client, user, method, path, body):
    # Signed in with a role that may call the endpoint, so that every one reaches its body.
    caller = admin_client if "/admin/" in path else auth_client
    before = _counts()
    response = getattr(caller, method)(path.format(user=user.pk), data=body, content_type="application/json")

    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "invalid_json"
    assert _counts() == before


@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=["deep", "surrogate-value", "surrogate-key"])
def test_signed_webhook_answers_400_invalid_json_and_stores_no_event(api_client, settings, body):
    webhook_authorization = callback_authorization(settings.PHONEPE_WEBHOOK_USERNAME, settings.PHONEPE_WEBHOOK_PASSWORD)
    response = api_client.post(
        "/api/v1/payments/webhook", data=body, content_type="application/json", HTTP_AUTHORIZATION=webhook_authorization
    )

    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "invalid_json"
    assert not WebhookEvent.objects.exists()


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_is_not():
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert loads_strict(at_limit.encode()) == eval(at_limit)  # noqa: S307 - a literal of brackets only
    with pytest.raises(MalformedJson):
        loads_strict(("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)).encode())


def test_paired_surrogates_are_ordinary_text():
    assert loads_strict(b'{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}
