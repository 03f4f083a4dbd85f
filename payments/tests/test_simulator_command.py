"""`manage.py phonepe_simulator`: port and public URL as options, defaults from PHONEPE_SIMULATOR_URL."""

import io

import pytest
import requests
from django.core.management import CommandError, call_command

from payments.management.commands import phonepe_simulator as command

ANY_ADDRESS = "0.0.0.0"  # noqa: S104 (an option value here, nothing binds to it)


def test_port_defaults_to_the_one_of_phonepe_simulator_url(settings):
    settings.PHONEPE_SIMULATOR_URL = "http://127.0.0.1:8099"
    assert command._port_of(settings.PHONEPE_SIMULATOR_URL) == 8099
    assert command._public_url(option=None, host="127.0.0.1", port=8099, port_given=False) == "http://127.0.0.1:8099"


def test_a_given_port_makes_the_public_url_follow_it_even_on_a_wildcard_bind():
    assert command._public_url(option=None, host=ANY_ADDRESS, port=8090, port_given=True) == "http://127.0.0.1:8090"


def test_public_url_option_wins_and_must_be_http():
    assert (
        command._public_url(option="http://localhost:8081/", host=ANY_ADDRESS, port=8081, port_given=True)
        == "http://localhost:8081"
    )
    with pytest.raises(CommandError, match="public-url"):
        command._public_url(option="localhost:8081", host=ANY_ADDRESS, port=8081, port_given=True)


def test_checkout_links_use_the_public_url_not_the_bind_address(settings):
    out = io.StringIO()
    captured = {}
    real_start = command.start_simulator

    def start(**kwargs):
        server = real_start(**kwargs)
        captured["server"] = server
        return server

    def return_at_once(stop):  # the command returns once the server is up, leaving it up for the requests below
        captured["stop"] = stop

    real_serve = command.serve_until_stopped
    command.start_simulator, command.serve_until_stopped = start, return_at_once
    try:
        call_command("phonepe_simulator", "--port", "0", "--public-url", "http://localhost:9999", stdout=out)
    finally:
        command.start_simulator, command.serve_until_stopped = real_start, real_serve
    server = captured["server"]
    try:
        assert server.public_url == "http://localhost:9999"
        assert "checkout pages at http://localhost:9999" in out.getvalue()
        assert "PHONEPE_SIMULATOR_URL=http://localhost:9999" in out.getvalue()  # tells how to point the API at it
        bound = f"http://127.0.0.1:{server.server_address[1]}"
        token = requests.post(
            f"{bound}/apis/pg-sandbox/v1/oauth/token",
            data={
                "client_id": settings.PHONEPE_CLIENT_ID,
                "client_secret": settings.PHONEPE_CLIENT_SECRET,
                "client_version": settings.PHONEPE_CLIENT_VERSION,
                "grant_type": "client_credentials",
            },
            timeout=5,
        ).json()["access_token"]
        order = requests.post(
            f"{bound}/apis/pg-sandbox/checkout/v2/pay",
            json={
                "merchantOrderId": "M360_publicurl",
                "amount": 29900,
                "paymentFlow": {"type": "PG_CHECKOUT", "merchantUrls": {"redirectUrl": "http://x/result"}},
            },
            headers={"Authorization": f"O-Bearer {token}"},
            timeout=5,
        ).json()
        assert order["redirectUrl"].startswith("http://localhost:9999/simulator/checkout/")
    finally:
        captured["stop"]()
