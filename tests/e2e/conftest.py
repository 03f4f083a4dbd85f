"""End-to-end fixtures: the PhonePe simulator on a free port and the reference data (plans, themes)."""

import io

import pytest
import requests
from django.core.management import call_command

from payments.tests.simulator import start_test_simulator
from tests.servers import web_servers  # noqa: F401  (the smoke test starts a real server)

WEBHOOK_PATH = "/api/v1/payments/webhook"


@pytest.fixture
def reference_data(transactional_db):
    """Plans, themes and role grants, committed (the servers under test run in other threads/processes)."""
    call_command("seed", stdout=io.StringIO())  # DEBUG is off in tests: no demo accounts


@pytest.fixture
def phonepe(settings):
    """A PhonePe simulator; the app's PhonePe client points at it. Set `.callback_url` to receive callbacks."""
    server = start_test_simulator(settings)
    settings.PHONEPE_PG_BASE_URL = server.pg_base_url
    settings.PHONEPE_OAUTH_BASE_URL = server.pg_base_url
    try:
        yield server
    finally:
        server.stop()


def simulator_pay(server, merchant_order_id: str, state: str = "COMPLETED") -> dict:
    """What pressing Pay on the hosted checkout does (docs/api.md §11), through the simulator's control endpoint."""
    response = requests.post(
        f"{server.url}/simulator/orders/{merchant_order_id}/complete", json={"state": state}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()
