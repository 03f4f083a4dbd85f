"""The cached theme catalogue (rooms.catalogue) across instances: a change made anywhere is served everywhere."""

import os

import pytest
from django.utils import timezone

from accounts.sessions import session_start
from accounts.tests.factories import UserFactory
from rooms.models import Theme
from rooms.tests.factories import ThemeFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

THEMES = "/api/v1/themed-rooms/themes"


@pytest.fixture(autouse=True)
def _same_cache_as_the_servers(settings):
    """This process writes themes like another instance or a management command would: on the servers' Redis."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["TEST_REDIS_URL"],
            "KEY_PREFIX": "manas360",  # as manas360.settings
        }
    }


def _cards(server, **headers) -> dict[str, dict]:
    response = server.get(THEMES, headers=headers)
    assert response.status_code == 200, response.text
    return {card["id"]: card for card in response.json()["themes"]}


def test_a_change_through_one_instance_is_on_the_next_page_of_every_instance(web_servers):
    a, b = web_servers.start(2, workers=2, threads=2)
    ThemeFactory(slug="shared-lake", title="Shared lake", session_count=0)
    for server in (a, b, a, b):  # every worker has the page cached
        assert _cards(server)["shared-lake"]["sessions"] == 0
    bearer = {"Authorization": f"Bearer {session_start(now=timezone.now(), user=UserFactory()).access_token}"}

    # A session ended through instance A updates the theme's counters (an UPDATE that sends no model signal).
    started = a.post("/api/v1/themed-rooms/sessions", json={"themeId": "shared-lake"}, headers=bearer)
    assert started.status_code == 201, started.text
    session_id = started.json()["data"]["id"]
    assert a.patch(f"/api/v1/themed-rooms/sessions/{session_id}/end", json={}, headers=bearer).status_code == 200
    assert Theme.objects.get(slug="shared-lake").session_count == 1
    for server in (b, a, b, a):
        assert _cards(server)["shared-lake"]["sessions"] == 1

    # A change made outside both (staff in the Django admin, a management command) reaches both as well.
    theme = Theme.objects.get(slug="shared-lake")
    theme.title = "Renamed lake"
    theme.save()
    for server in (a, b, a, b):
        assert _cards(server)["shared-lake"]["title"] == "Renamed lake"


def test_revalidation_with_the_etag_of_another_instance(web_servers):
    a, b = web_servers.start(2)
    first = a.get(THEMES)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-cache, public"
    again = b.get(THEMES, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    ThemeFactory(slug="new-theme")
    changed = b.get(THEMES, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert "new-theme" in {card["id"] for card in changed.json()["themes"]}
