"""The PhonePe client against the simulator: token caching, 401 refresh, bounded retries, validation."""

import hashlib
import time

import pytest
import requests
import time_machine

from payments.phonepe.callback import callback_authorization, callback_is_authentic
from payments.phonepe.client import PhonePeClient, PhonePeConfig, PhonePeNotFound, PhonePeRejected, PhonePeUnavailable


def _token_calls(simulator):
    return sum(1 for request in simulator.server.state.requests if request["path"] == "/v1/oauth/token")


@pytest.fixture
def client(simulator):
    return PhonePeClient()


def _order(client, merchant_order_id, amount=29900):
    return client.create_order(
        merchant_order_id=merchant_order_id, amount_paise=amount, redirect_url="http://localhost/back"
    )


def test_token_is_fetched_once_and_shared_through_the_cache(client, simulator):
    order = _order(client, "M360_token_cache")
    assert order.order_id.startswith("OMO")
    assert order.state == "PENDING"
    client.get_order_status(merchant_order_id="M360_token_cache")
    PhonePeClient().get_order_status(merchant_order_id="M360_token_cache")  # another instance, same cache
    assert _token_calls(simulator) == 1


def test_revoked_token_is_refreshed_and_the_call_retried_once(client, simulator):
    _order(client, "M360_revoked")
    simulator.post("/simulator/tokens/revoke")
    status = client.get_order_status(merchant_order_id="M360_revoked")
    assert status.state == "PENDING"
    assert status.amount == 29900
    assert _token_calls(simulator) == 2


def test_stale_token_is_refreshed_at_half_life(simulator, settings):
    simulator.server.state.config["token_ttl_seconds"] = 60
    client = PhonePeClient()
    _order(client, "M360_short_token")
    with time_machine.travel(time.time() + 20):  # before half-life: cached
        client.get_order_status(merchant_order_id="M360_short_token")
    assert _token_calls(simulator) == 1
    with time_machine.travel(time.time() + 31):  # past half-life, still valid: refreshed anyway
        client.get_order_status(merchant_order_id="M360_short_token")
    assert _token_calls(simulator) == 2


def test_transient_failures_of_reads_are_retried_with_a_bound(client, simulator):
    _order(client, "M360_retry")
    simulator.post("/simulator/faults", {"operation": "order_status", "status": 503, "count": 1})
    assert client.get_order_status(merchant_order_id="M360_retry").state == "PENDING"
    simulator.post("/simulator/faults", {"operation": "order_status", "status": 500, "count": 5})
    with pytest.raises(PhonePeUnavailable):
        client.get_order_status(merchant_order_id="M360_retry")
    status_calls = [r for r in simulator.server.state.requests if r["path"].endswith("/M360_retry/status")]
    assert len(status_calls) == 2 + 2  # 2 for the first call, max_retries=1 -> 2 for the failing one


def test_pay_is_resent_only_when_the_gateway_has_no_such_order(client, simulator):
    simulator.post("/simulator/faults", {"operation": "pay", "status": 502, "count": 1})
    order = _order(client, "M360_resend")
    assert order.order_id.startswith("OMO")
    pays = [r for r in simulator.server.state.requests if r["path"] == "/checkout/v2/pay"]
    assert len(pays) == 2
    assert len(simulator.server.state.orders) == 1


def test_bad_credentials_are_rejected_without_retry(simulator, settings):
    settings.PHONEPE_CLIENT_SECRET = "wrong-secret"
    with pytest.raises(PhonePeRejected):
        _order(PhonePeClient(), "M360_bad_credentials")
    assert _token_calls(simulator) == 1


def test_unknown_order_is_not_found(client, simulator):
    with pytest.raises(PhonePeNotFound):
        client.get_order_status(merchant_order_id="M360_nope")


def test_simulator_validates_orders_like_phonepe(client, simulator):
    with pytest.raises(PhonePeRejected):
        _order(client, "M360_too_small", amount=99)
    with pytest.raises(PhonePeRejected):
        _order(client, "bad id with spaces")
    _order(client, "M360_once")
    with pytest.raises(PhonePeRejected) as duplicate:
        _order(client, "M360_once")
    assert duplicate.value.status_code == 409


def test_production_url_layout_is_served_too(simulator, settings):
    config = PhonePeConfig.from_settings()
    config.pg_base_url = simulator.url + "/apis/pg"
    config.oauth_base_url = simulator.url + "/apis/identity-manager"
    client = PhonePeClient(config)
    _order(client, "M360_prod_layout")
    assert client.get_order_status(merchant_order_id="M360_prod_layout").state == "PENDING"


def test_pg_calls_without_a_token_are_401(simulator):
    response = requests.get(simulator.server.pg_base_url + "/checkout/v2/order/x/status", timeout=5)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"


def test_callback_authorization_matches_phonepe():
    # docs/phonepe.md §7: sha256("username:password") = bc842c31…6e0e, lowercase hex, no prefix.
    value = callback_authorization("username", "password")
    assert value == hashlib.sha256(b"username:password").hexdigest()
    assert value.startswith("bc842c31")
    assert value.endswith("6e0e")
    assert callback_is_authentic(value, username="username", password="password")
    assert not callback_is_authentic(value.upper(), username="username", password="password")
    assert not callback_is_authentic("SHA256 " + value, username="username", password="password")
    assert not callback_is_authentic(None, username="username", password="password")


@pytest.mark.parametrize(
    ("raw_amount", "expected"), [(29900, 29900), ("29900", 29900), (29900.9, None), ("299.00", None), (True, None)]
)
def test_order_status_never_truncates_a_malformed_amount_into_a_match(monkeypatch, raw_amount, expected):
    """A fractional or non-integer amount from the gateway must not become our amount by truncation."""
    client = PhonePeClient(
        PhonePeConfig(
            client_id="id",
            client_secret="secret",
            client_version="1",
            pg_base_url="http://127.0.0.1:9",
            oauth_base_url="http://127.0.0.1:9",
            connect_timeout=1,
            read_timeout=1,
            max_retries=0,
        )
    )
    body = {"orderId": "OMO1", "state": "COMPLETED", "amount": raw_amount, "paymentDetails": {"unexpected": "object"}}
    monkeypatch.setattr(client, "_api", lambda *args, **kwargs: body)

    status = client.get_order_status(merchant_order_id="M360_malformed")

    assert status.amount == expected
    assert status.state == "COMPLETED"
    assert status.payment_mode == ""
