"""The simulator applies PhonePe's defaults to the fields PhonePe documents as optional.

The request bodies are the ones PhonePe's Python SDK (3.x) sends when a caller leaves the optional builder
arguments out: `PgPaymentRequest.build_subscription_setup_upi_collect` / `_upi_intent`,
`PgPaymentRequest.build_subscription_notify_request` and `StandardCheckoutPayRequest.build_request`,
serialised by `dataclasses_json` in camelCase with an explicit `null` for every unset field (only `metaInfo`'s
`udf`s and `prefillUserLoginDetails` are omitted). They are written out here because the SDK is not a
dependency of the project; docs/phonepe-simulator.md lists the defaults.
"""

from datetime import UTC, datetime, timedelta

import pytest
import requests
import time_machine

MONTHLY = 29900
# A fixed, ordinary date (not 29 February), so that "30 years later" is the same day and time in 2056.
START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture
def gateway(simulator, settings):
    """Calls to the simulator's gateway with a live O-Bearer token, as the SDK makes them."""
    with time_machine.travel(START, tick=True):
        token = requests.post(
            simulator.server.pg_base_url + "/v1/oauth/token",
            data={
                "client_id": settings.PHONEPE_CLIENT_ID,
                "client_secret": settings.PHONEPE_CLIENT_SECRET,
                "client_version": str(settings.PHONEPE_CLIENT_VERSION),
                "grant_type": "client_credentials",
            },
            timeout=10,
        ).json()["access_token"]

        def call(method: str, path: str, body: dict | None = None) -> requests.Response:
            return requests.request(
                method,
                simulator.server.pg_base_url + path,
                json=body,
                headers={"Authorization": f"O-Bearer {token}"},
                timeout=10,
            )

        yield call


def _sdk_setup_upi_collect(suffix: str) -> dict:
    """`build_subscription_setup_upi_collect(...)` without message, subscription_expire_at, order_expire_at,
    meta_info, constraints."""
    return {
        "merchantOrderId": f"M360S_{suffix}",
        "amount": MONTHLY,
        "metaInfo": None,
        "deviceContext": None,
        "paymentFlow": {
            "type": "SUBSCRIPTION_SETUP",
            "merchantSubscriptionId": f"MS_{suffix}",
            "authWorkflowType": "TRANSACTION",
            "amountType": "FIXED",
            "maxAmount": MONTHLY,
            "frequency": "MONTHLY",
            "expireAt": None,
            "paymentMode": {"type": "UPI_COLLECT", "details": {"type": "VPA", "vpa": "someone@ybl"}, "message": None},
        },
        "constraints": None,
        "expireAfter": None,
        "expireAt": None,
    }


def _sdk_setup_upi_intent(suffix: str) -> dict:
    """`build_subscription_setup_upi_intent(...)` without device_os, merchant_callback_scheme, target_app and
    both expiries."""
    body = _sdk_setup_upi_collect(suffix)
    body["deviceContext"] = {"merchantCallbackScheme": None, "deviceOS": None}
    body["paymentFlow"]["paymentMode"] = {"type": "UPI_INTENT", "targetApp": None}
    return body


def _clock_ms(simulator) -> int:
    return simulator.server.state.now_ms()


@pytest.mark.parametrize("build", [_sdk_setup_upi_collect, _sdk_setup_upi_intent], ids=["collect", "intent"])
def test_sdk_setup_without_expiries_gets_a_10_minute_order_and_a_30_year_mandate(gateway, simulator, build):
    before = _clock_ms(simulator)
    response = gateway("POST", "/subscriptions/v2/setup", build("sdk"))
    after = _clock_ms(simulator)

    assert response.status_code == 200, response.text
    order_expire_at = response.json()["expireAt"]
    assert before + 10 * 60 * 1000 <= order_expire_at <= after + 10 * 60 * 1000
    status = gateway("GET", "/subscriptions/v2/MS_sdk/status").json()
    assert status["state"] == "ACTIVATION_IN_PROGRESS"
    thirty_years_on = START.replace(year=2056)
    assert _ms(thirty_years_on) <= status["expireAt"] <= _ms(thirty_years_on) + (after - _ms(START))


def test_the_default_setup_order_lapses_after_10_minutes(gateway, simulator):
    gateway("POST", "/subscriptions/v2/setup", _sdk_setup_upi_collect("lapse"))
    simulator.post("/simulator/clock", {"advanceSeconds": 9 * 60})
    assert gateway("GET", "/subscriptions/v2/order/M360S_lapse/status").json()["state"] == "PENDING"

    simulator.post("/simulator/clock", {"advanceSeconds": 2 * 60})

    assert gateway("GET", "/subscriptions/v2/order/M360S_lapse/status").json()["state"] == "FAILED"
    assert gateway("GET", "/subscriptions/v2/MS_lapse/status").json()["state"] == "FAILED"


def test_the_web_checkout_setup_without_an_end_date_gets_a_30_year_mandate(gateway, simulator):
    response = gateway(
        "POST",
        "/checkout/v2/pay",
        {
            "merchantOrderId": "M360S_web",
            "amount": MONTHLY,
            "paymentFlow": {
                "type": "SUBSCRIPTION_CHECKOUT_SETUP",
                "merchantUrls": {"redirectUrl": "http://localhost/back"},
                "subscriptionDetails": {
                    "subscriptionType": "RECURRING",
                    "merchantSubscriptionId": "MS_web",
                    "authWorkflowType": "TRANSACTION",
                    "amountType": "FIXED",
                    "maxAmount": MONTHLY,
                    "frequency": "MONTHLY",
                },
            },
        },
    )

    assert response.status_code == 200, response.text
    expire_at = gateway("GET", "/subscriptions/v2/MS_web/status").json()["expireAt"]
    assert datetime.fromtimestamp(expire_at / 1000, UTC).date() == START.replace(year=2056).date()


def test_sdk_notify_without_expiry_is_valid_48_hours_and_not_auto_debited(gateway, simulator):
    gateway("POST", "/subscriptions/v2/setup", _sdk_setup_upi_collect("cycle"))
    simulator.complete("M360S_cycle", "COMPLETED")
    before = _clock_ms(simulator)
    # `build_subscription_notify_request(...)` without auto_debit (False), expire_at, meta_info, constraints;
    # the retry strategy is left null too, which PhonePe reads as STANDARD.
    notified = gateway(
        "POST",
        "/subscriptions/v2/notify",
        {
            "merchantOrderId": "M360R_cycle",
            "amount": MONTHLY,
            "metaInfo": None,
            "deviceContext": None,
            "paymentFlow": {
                "type": "SUBSCRIPTION_REDEMPTION",
                "merchantSubscriptionId": "MS_cycle",
                "redemptionRetryStrategy": None,
                "autoDebit": False,
            },
            "constraints": None,
            "expireAfter": None,
            "expireAt": None,
        },
    )
    after = _clock_ms(simulator)

    assert notified.status_code == 200, notified.text
    assert before + 48 * 3600 * 1000 <= notified.json()["expireAt"] <= after + 48 * 3600 * 1000
    flow = gateway("GET", "/subscriptions/v2/order/M360R_cycle/status").json()["paymentFlow"]
    assert (flow["redemptionRetryStrategy"], flow["autoDebit"]) == ("STANDARD", False)
    simulator.post("/simulator/clock", {"advanceSeconds": 25 * 3600})
    assert gateway("GET", "/subscriptions/v2/order/M360R_cycle/status").json()["state"] == "NOTIFIED"
    assert gateway("POST", "/subscriptions/v2/redeem", {"merchantOrderId": "M360R_cycle"}).json()["state"] == (
        "COMPLETED"
    )


def test_sdk_standard_checkout_without_options_expires_after_20_minutes(gateway, simulator):
    before = _clock_ms(simulator)
    # `StandardCheckoutPayRequest.build_request(merchant_order_id, amount)` and nothing else.
    response = gateway(
        "POST",
        "/checkout/v2/pay",
        {
            "merchantOrderId": "M360_plain",
            "amount": 49900,
            "metaInfo": None,
            "paymentFlow": {
                "type": "PG_CHECKOUT",
                "message": None,
                "merchantUrls": {"redirectUrl": None},
                "paymentModeConfig": None,
            },
            "expireAfter": None,
            "disablePaymentRetry": None,
        },
    )
    after = _clock_ms(simulator)

    assert response.status_code == 200, response.text
    assert before + 1200 * 1000 <= response.json()["expireAt"] <= after + 1200 * 1000


@pytest.mark.parametrize(
    ("where", "field_name"),
    [("subscription", "expireAt"), ("order", "expireAt (order)")],
)
def test_an_expiry_given_in_the_past_is_still_refused(gateway, simulator, where, field_name):
    body = _sdk_setup_upi_collect("past")
    past = _ms(START - timedelta(days=1))
    if where == "subscription":
        body["paymentFlow"]["expireAt"] = past
    else:
        body["expireAt"] = past

    response = gateway("POST", "/subscriptions/v2/setup", body)

    assert response.status_code == 400
    assert f"{field_name} must be a future epoch in milliseconds" in response.json()["message"]
    assert simulator.server.state.subscriptions == {}
    assert simulator.server.state.orders == {}
