"""Redis (shared cache: rate limits, OTP cooldowns) goes away and comes back under a running service."""

import pytest

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import issue_access_token

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SETTINGS = "tests.faults.server_settings"


def test_requests_keep_working_while_redis_restarts(web_servers, redis_control):
    (server,) = web_servers.start(workers=1, threads=2, settings_module=SETTINGS, env={"RATE_LIMIT_ANON": "3/h"})
    user = UserFactory()
    bearer = {"Authorization": f"Bearer {issue_access_token(user=user)}"}
    assert server.get("/health/ready").json()["checks"]["cache"] == "ok"

    redis_control.stop()
    ready = server.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "cache": "unreachable"}
    assert server.get("/health").status_code == 200
    for _ in range(5):
        response = server.get("/api/v1/_test/whoami", headers=bearer)
        assert response.status_code == 200
        assert response.json()["data"]["id"] == str(user.pk)
    # Rate-limited endpoints fail open (the limits are not enforced until the cache is back), they do not fail.
    for _ in range(4):
        themes = server.get("/api/v1/themed-rooms/themes")
        assert themes.status_code == 200
        assert "RateLimit-Remaining" not in themes.headers

    redis_control.start()
    assert server.get("/health/ready").status_code == 200
    assert server.get("/api/v1/_test/whoami", headers=bearer).status_code == 200
    # Limits are counted again (a fresh Redis: the window starts over).
    assert server.get("/api/v1/themed-rooms/themes").headers["RateLimit-Limit"] == "3"
