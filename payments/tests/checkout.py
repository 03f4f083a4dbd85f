"""A buyer going through the real checkout against the live PhonePe simulator (tests that span apps use it).

`buyer` is a fixture, registered for every test by the root conftest.py.
"""

import pytest

from accounts.tests.factories import UserFactory


@pytest.fixture
def buyer(make_auth_client):
    """A patient and their signed-in API client."""
    user = UserFactory()
    return user, make_auth_client(user)


def checkout_create(client, plan_id):
    response = client.post("/api/v1/payments/create", {"planId": plan_id}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def checkout_pay(live_simulator, payment):
    """The user pays on PhonePe's page; the simulator calls our webhook, which answers 200."""
    result = live_simulator.complete(payment["transactionId"], "COMPLETED")
    assert result["webhook"] == {"delivered": True, "status": 200}


def payment_read(client, payment):
    response = client.get(f"/api/v1/payments/{payment['transactionId']}")
    assert response.status_code == 200
    return response.json()["data"]
