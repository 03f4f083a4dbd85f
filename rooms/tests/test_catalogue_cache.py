"""The catalogue's kept pages (rooms.catalogue): answered before DRF runs, the same bytes and headers as the
view's own answer, counted by the shared rate limit, and never stale.

Every test starts with an empty cache (root conftest), hence a new catalogue version: a page kept by another
test is never reachable.
"""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.sessions import session_start
from accounts.tests.factories import UserFactory
from rooms import catalogue
from rooms.models import Theme
from rooms.services import room_session_end, room_session_start
from rooms.views import ThemeListView
from subscriptions.models import Plan
from subscriptions.tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/themed-rooms/themes"
# Headers the view and DRF set (the middleware adds the rest to every answer, kept or not).
VIEW_HEADERS = ("Content-Type", "ETag", "Cache-Control", "Vary", "Allow")


@pytest.fixture
def dispatched(monkeypatch):
    """Counts the requests that reached DRF's dispatch of the list view."""
    calls = []
    original = ThemeListView.dispatch

    def spy(self, request, *args, **kwargs):
        calls.append(request.path)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(ThemeListView, "dispatch", spy)
    return calls


def _get(client, path=LIST, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    return response, len(queries)


def _bearer(user) -> str:
    return f"Bearer {session_start(now=timezone.now(), user=user).access_token}"


def _headers(response) -> dict:
    return {name: response.get(name) for name in VIEW_HEADERS}


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
def test_a_kept_page_is_the_views_answer_without_drf_or_a_query(api_client, themes, dispatched, path):
    first, first_queries = _get(api_client, path)
    second, second_queries = _get(api_client, path)
    assert dispatched == [LIST]  # the second request never reached DRF
    assert first.status_code == second.status_code == 200
    assert first_queries >= 1
    assert second_queries == 0
    assert second.content == first.content
    assert _headers(second) == _headers(first)
    assert first["Content-Type"] == "application/json"
    assert first["Cache-Control"] == "no-cache, public"
    catalogue.forget_pages()
    assert api_client.get(path).content == first.content  # built again: the same bytes


def test_a_matching_if_none_match_is_304_kept_or_not(api_client, themes, dispatched):
    first = api_client.get(LIST)
    assert first["ETag"].startswith('"')
    from_cache = api_client.get(LIST, HTTP_IF_NONE_MATCH=first["ETag"])
    catalogue.forget_pages()
    from_view = api_client.get(LIST, HTTP_IF_NONE_MATCH=first["ETag"])
    assert len(dispatched) == 2  # the first request and the one after forget_pages
    assert from_cache.status_code == from_view.status_code == 304
    assert from_cache.content == from_view.content == b""
    assert {**_headers(from_cache), "Allow": None} == {**_headers(from_view), "Allow": None}
    assert from_cache["ETag"] == first["ETag"]
    assert "Cookie" in from_cache["Vary"]
    stale = api_client.get(LIST, HTTP_IF_NONE_MATCH='"not-the-etag"')
    assert stale.status_code == 200
    assert stale.content == first.content


def test_a_hit_is_counted_by_the_shared_rate_limit(api_client, themes, dispatched, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "anon": "3/m"}
    assert api_client.get(LIST)["RateLimit-Remaining"] == "2"
    assert api_client.get(LIST)["RateLimit-Remaining"] == "1"
    assert api_client.get(LIST)["RateLimit-Remaining"] == "0"
    assert len(dispatched) == 1  # two of the three were hits
    refused = api_client.get(LIST)
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert refused["Retry-After"]


def test_a_signed_in_caller_with_the_same_entitlements_gets_the_kept_page(api_client, themes, dispatched):
    first_user, second_user = UserFactory(), UserFactory()
    SubscriptionFactory(user=first_user, plan__code="premium_monthly")
    SubscriptionFactory(user=second_user, plan__code="premium_monthly")
    first = api_client.get(LIST, HTTP_AUTHORIZATION=_bearer(first_user))
    second, queries = _get(api_client, HTTP_AUTHORIZATION=_bearer(second_user))
    assert dispatched == [LIST]
    assert queries == 2  # the session with its user, and the subscription (entitlements are never cached)
    assert second.content == first.content
    assert second["Cache-Control"] == first["Cache-Control"] == "no-cache, private"
    assert _headers(second) == _headers(first)


def test_pages_differ_by_caller_class_not_by_caller(api_client, themes):
    anonymous = api_client.get(LIST)
    no_plan = api_client.get(LIST, HTTP_AUTHORIZATION=_bearer(UserFactory()))
    premier_user = UserFactory()
    SubscriptionFactory(user=premier_user, plan__code="premium_monthly")
    premier = api_client.get(LIST, HTTP_AUTHORIZATION=_bearer(premier_user)).json()
    assert no_plan.json() == anonymous.json()
    assert no_plan["Cache-Control"] == "no-cache, private"  # not the anonymous (public) answer
    assert {card["id"] for card in premier["themes"] if not card["locked"]} > {
        card["id"] for card in anonymous.json()["themes"] if not card["locked"]
    }


def test_a_refused_caller_gets_the_views_refusal_even_when_a_page_is_kept(api_client, themes):
    assert api_client.get(LIST).status_code == 200
    refused = api_client.get(LIST, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_invalid"


def test_a_query_the_view_refuses_is_never_answered_from_a_kept_page(api_client, themes):
    assert api_client.get(LIST).status_code == 200
    assert api_client.get(LIST, {"format": "xml"}).status_code == 404  # DRF's renderer override
    assert api_client.get(LIST, {"tier": "gold"}).status_code == 400


def test_a_theme_change_is_served_on_the_next_request(api_client, themes):
    before = api_client.get(LIST).json()
    theme = Theme.objects.get(slug="forest")
    theme.title = "Deep forest"
    theme.save()
    after = api_client.get(LIST).json()
    assert {card["title"] for card in after["themes"]} - {card["title"] for card in before["themes"]} == {"Deep forest"}
    Theme.objects.get(slug="calm-lake").delete()
    assert "calm-lake" not in {card["id"] for card in api_client.get(LIST).json()["themes"]}


def test_ending_a_session_updates_the_kept_counters(api_client, themes):
    user = UserFactory()
    api_client.get(LIST)
    session = room_session_start(now=timezone.now(), user=user, theme_id="calm-lake")
    room_session_end(now=timezone.now(), user=user, session_id=session.pk, rating=4)
    card = next(card for card in api_client.get(LIST).json()["themes"] if card["id"] == "calm-lake")
    theme = Theme.objects.get(slug="calm-lake")
    assert theme.session_count == themes["calm-lake"].session_count + 1
    assert card["sessions"] == theme.session_count
    assert card["rating"] == theme.average_rating


def test_a_plan_change_moves_the_version(themes):
    version = catalogue.current_version()
    plan = Plan.objects.first() or SubscriptionFactory(user=UserFactory(), plan__code="premium_monthly").plan
    plan.save()
    assert catalogue.current_version() not in (None, version)


def test_the_version_lives_in_djangos_cache_and_a_lost_one_is_new(themes):
    version = catalogue.current_version()
    assert cache.get(catalogue.VERSION_KEY) == version
    assert catalogue.current_version() == version
    cache.clear()  # what a Redis restart or flush does
    assert catalogue.current_version() not in (None, version)


def test_without_the_shared_cache_pages_are_built_and_not_kept(api_client, themes, monkeypatch, dispatched):
    monkeypatch.setattr(catalogue, "current_version", lambda: None)
    first, _ = _get(api_client)
    second, queries = _get(api_client)
    assert len(dispatched) == 2
    assert queries >= 1  # built again
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]


def test_other_methods_go_to_the_view(api_client, themes, dispatched):
    api_client.get(LIST)
    assert api_client.head(LIST).status_code == 200
    assert api_client.post(LIST, {}, format="json").status_code == 405
    assert len(dispatched) == 3


def test_on_redis_the_version_is_shared_and_moved_on_change(redis_cache, api_client, themes, dispatched):
    version = catalogue.current_version()
    assert version is not None
    assert catalogue.current_version() == version
    first, _ = _get(api_client)
    second, queries = _get(api_client)
    assert queries == 0
    assert len(dispatched) == 1
    assert second.content == first.content
    catalogue.catalogue_changed()
    assert catalogue.current_version() not in (None, version)
    redis_cache.clear()
    assert catalogue.current_version() is not None
