"""Autopay tests drive the PhonePe simulator over real HTTP, like the payments tests (same fixtures)."""

import pytest
import requests
from django.utils import timezone

from accounts.tests.factories import UserFactory
from autopay.models import Mandate, MandateState
from autopay.services import mandate_sync
from payments.tests.conftest import (  # noqa: F401 - fixtures shared with the payments tests
    Sim,
    create_payment,
    live_simulator,
    plans,
    post_callback,
    simulator,
    webhook_authorization,
)

AUTOPAY = "/api/v1/subscriptions/autopay"


class AutopaySim:
    """The simulator's Autopay controls."""

    def __init__(self, sim: Sim):
        self.sim = sim

    def approve(self, mandate: Mandate, state="COMPLETED"):
        """What the user does on PhonePe's page: approve (or decline) the mandate and pay the first period."""
        return self.sim.complete(mandate.setup_payment.merchant_order_id, state)

    def control(self, mandate: Mandate, action: str, payload=None):
        response = self.sim.post(f"/simulator/subscriptions/{mandate.merchant_subscription_id}/{action}", payload)
        assert response.status_code == 200, response.text
        return response.json()

    def advance(self, seconds: float):
        response = self.sim.post("/simulator/clock", {"advanceSeconds": seconds})
        assert response.status_code == 200, response.text
        return response.json()

    def subscription(self, mandate: Mandate):
        return self.sim.server.state.subscriptions[mandate.merchant_subscription_id]

    def redemptions(self):
        return [o for o in self.sim.server.state.orders.values() if o.flow_type == "SUBSCRIPTION_REDEMPTION"]

    def webhook_events(self):
        return [
            hook["event"] for hook in requests.get(self.sim.url + "/simulator/webhooks", timeout=10).json()["webhooks"]
        ]


@pytest.fixture
def autopay_sim(request):
    return AutopaySim(request.getfixturevalue("simulator"))


@pytest.fixture
def turn_on():
    def start(client, plan_id="premium_monthly"):
        response = client.post(AUTOPAY, {"planId": plan_id}, format="json")
        assert response.status_code == 201, response.content
        return Mandate.objects.select_related("setup_payment").get(pk=response.json()["data"]["id"])

    return start


@pytest.fixture
def autopay_user(request, make_auth_client, turn_on, autopay_sim):
    """A patient whose Autopay for premium_monthly is set up and approved (first month paid)."""
    request.getfixturevalue("plans")  # autopay_sim brings the simulator
    user = UserFactory()
    client = make_auth_client(user)
    mandate = turn_on(client)
    autopay_sim.approve(mandate)
    # No live server here: the setup is confirmed the way a lost callback would be, by reading PhonePe.
    mandate_sync(now=timezone.now(), mandate_id=mandate.pk)
    mandate.refresh_from_db()
    assert mandate.state == MandateState.ACTIVE
    return user, client, mandate
