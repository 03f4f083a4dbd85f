"""The catalogue's cached pages (rooms.catalogue): the same bytes as a fresh page, and never stale.

Every test starts with an empty cache (root conftest), hence a new version stamp: a page cached by another
test is never reachable.
"""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.sessions import session_start
from accounts.tests.factories import UserFactory
from rooms import catalogue
from rooms.models import Theme
from rooms.services import room_session_end, room_session_start
from subscriptions.models import Plan
from subscriptions.tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/themed-rooms/themes"


def _get(client, path=LIST, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    return response, len(queries)


def _fresh(client, path=LIST, **headers) -> bytes:
    """The page as built without the cache (the plain version the cached one must equal)."""
    catalogue.forget_pages()
    return client.get(path, **headers).content


@pytest.mark.parametrize(
    "path",
    [
        LIST,
        f"{LIST}?limit=4",
        f"{LIST}?page=2&limit=4",
        f"{LIST}?tier=premier",
        f"{LIST}?search=ocean",
        f"{LIST}?page=9",
    ],
)
def test_a_cached_page_is_byte_for_byte_the_fresh_one_and_costs_no_query(api_client, themes, path):
    first, first_queries = _get(api_client, path)
    second, second_queries = _get(api_client, path)
    assert first.status_code == second.status_code == 200
    assert first_queries >= 1
    assert second_queries == 0
    assert second.content == first.content == _fresh(api_client, path)
    assert second["Content-Type"] == first["Content-Type"] == "application/json"
    assert second["ETag"] == first["ETag"] == catalogue.etag_of(first.content)


def test_pages_differ_by_caller_class_not_by_caller(api_client, themes):
    anonymous = api_client.get(LIST).json()
    no_plan = api_client.get(LIST, HTTP_AUTHORIZATION=_bearer(UserFactory())).json()
    premier_user = UserFactory()
    SubscriptionFactory(user=premier_user, plan__code="premium_monthly")
    premier = api_client.get(LIST, HTTP_AUTHORIZATION=_bearer(premier_user)).json()
    assert no_plan == anonymous  # same caller class: same (cached) page
    assert premier != anonymous
    assert {card["id"] for card in premier["themes"] if not card["locked"]} > {
        card["id"] for card in anonymous["themes"] if not card["locked"]
    }
    # A signed-in caller still costs its session check, which reads the subscription (entitlements are never cached).
    _, queries = _get(api_client, HTTP_AUTHORIZATION=_bearer(premier_user))
    assert queries == 1


def _bearer(user) -> str:
    return f"Bearer {session_start(user=user).access_token}"


def test_a_theme_change_is_served_on_the_next_request(api_client, themes):
    before = api_client.get(LIST).json()
    theme = Theme.objects.get(slug="forest")
    theme.title = "Deep forest"
    theme.save()
    after = api_client.get(LIST).json()
    assert {card["title"] for card in after["themes"]} - {card["title"] for card in before["themes"]} == {"Deep forest"}
    Theme.objects.get(slug="calm-lake").delete()
    assert "calm-lake" not in {card["id"] for card in api_client.get(LIST).json()["themes"]}


def test_ending_a_session_updates_the_cached_counters(api_client, themes):
    user = UserFactory()
    api_client.get(LIST)
    session = room_session_start(user=user, theme_id="calm-lake")
    room_session_end(user=user, session_id=session.pk, rating=4)
    card = next(card for card in api_client.get(LIST).json()["themes"] if card["id"] == "calm-lake")
    theme = Theme.objects.get(slug="calm-lake")
    assert theme.session_count == themes["calm-lake"].session_count + 1
    assert card["sessions"] == theme.session_count
    assert card["rating"] == theme.average_rating


def test_a_plan_change_replaces_the_stamp(themes):
    stamp = catalogue.current_stamp()
    plan = Plan.objects.first() or SubscriptionFactory(user=UserFactory(), plan__code="premium_monthly").plan
    plan.save()
    assert catalogue.current_stamp() != stamp


def test_a_lost_stamp_is_a_new_one(themes):
    stamp = catalogue.current_stamp()
    assert catalogue.current_stamp() == stamp
    cache.clear()  # what a Redis restart or flush does
    assert catalogue.current_stamp() not in (None, stamp)


def test_etag_revalidation_answers_304_without_a_body(api_client, themes):
    first = api_client.get(LIST)
    assert first["Cache-Control"] == "no-cache, public"
    assert "Authorization" in first["Vary"]
    assert "Cookie" in first["Vary"]
    again = api_client.get(LIST, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    stale = api_client.get(LIST, HTTP_IF_NONE_MATCH='"not-the-etag"')
    assert stale.status_code == 200
    assert stale.content == first.content


def test_signed_in_pages_are_private(api_client, themes):
    response = api_client.get(LIST, HTTP_AUTHORIZATION=_bearer(UserFactory()))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-cache, private"
    assert response["ETag"] == catalogue.etag_of(response.content)


def test_without_the_shared_cache_pages_are_built_and_not_kept(api_client, themes, monkeypatch):
    monkeypatch.setattr(catalogue, "current_stamp", lambda request=None: None)
    first, _ = _get(api_client)
    second, queries = _get(api_client)
    assert queries >= 1  # built again
    assert second.content == first.content


def test_on_redis_the_stamp_is_shared_created_once_and_replaced_on_change(redis_cache, api_client, themes):
    stamp = catalogue.current_stamp()
    assert stamp
    assert catalogue.current_stamp() == stamp
    first, _ = _get(api_client)
    second, queries = _get(api_client)
    assert queries == 0
    assert second.content == first.content
    catalogue.catalogue_changed()
    assert catalogue.current_stamp() != stamp
    redis_cache.clear()
    assert catalogue.current_stamp() not in (None, stamp)
