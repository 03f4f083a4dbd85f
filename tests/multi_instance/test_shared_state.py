"""Several instances of the service, one truth: what one instance knows, every instance knows."""

import random
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import issue_access_token

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

THEMES = "/api/v1/themed-rooms/themes"


def _client_addresses(count: int) -> list[str]:
    """Distinct client addresses of our own, so that no other test's counters in the shared Redis interfere."""
    return [f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" for n in random.sample(range(1, 2**24), count)]


def test_two_instances_serve_the_same_database_and_cache(web_servers):
    a, b = web_servers.start(2)
    user = UserFactory()
    bearer = {"Authorization": f"Bearer {issue_access_token(user=user)}"}
    for server in (a, b):
        ready = server.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "cache": "ok"}
        # A token issued once is honoured by every instance (same signing key, same session store).
        assert server.get(THEMES, headers=bearer).status_code == 200
    assert a.get(THEMES, headers={"Authorization": "Bearer forged"}).status_code == 401


def test_anonymous_rate_limit_reached_through_one_instance_applies_on_the_other(web_servers):
    # Behind one trusted proxy: the client is the address the proxy appended to X-Forwarded-For.
    env = {"RATE_LIMIT_ANON": "6/h", "TRUSTED_PROXY_COUNT": "1"}
    a, b = web_servers.start(2, env=env)
    first, second = _client_addresses(2)
    # What the proxy sends: whatever the client claimed, then the address the proxy saw.
    client = {"X-Forwarded-For": f"203.0.113.9, {first}"}
    answers = [server.get(THEMES, headers=client).status_code for server in (a, b, a, b, a, b)]
    assert answers == [200] * 6
    # The 7th request within the window is refused wherever it lands.
    for server in (a, b):
        refused = server.get(THEMES, headers=client)
        assert refused.status_code == 429
        assert refused.json()["code"] == "throttled"
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["RateLimit-Remaining"] == "0"
    # Another client behind the same proxy is not affected.
    assert b.get(THEMES, headers={"X-Forwarded-For": f"203.0.113.9, {second}"}).status_code == 200


def test_metrics_of_one_instance_add_up_all_its_workers(web_servers):
    (server,) = web_servers.start(workers=3, threads=1)
    assert len(server.worker_pids()) == 3
    # A new connection each time (no keep-alive session): the kernel spreads them over the three workers, so
    # each worker served some of them and answers some of the scrapes.
    for _ in range(30):
        assert requests.get(server.url("/health/db"), timeout=15).status_code == 200
    time.sleep(0.2)
    for _ in range(3):
        scrape = requests.get(server.url("/metrics"), timeout=15).text
        families = {family.name: family for family in text_string_to_metric_families(scrape)}
        served = sum(
            sample.value
            for sample in families["http_requests"].samples
            if sample.name == "http_requests_total" and sample.labels["route"] == "health/db"
        )
        assert served == 30
    roles = sorted(sample.labels["role"] for sample in families["process_resident_memory_bytes"].samples)
    assert roles == ["master", "worker", "worker", "worker"]
