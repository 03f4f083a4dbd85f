"""The rate-limit counter on real Redis: one EVALSHA per hit (INCR + EXPIRE NX), on a reused public client."""

import pytest

from manas360 import shared_redis
from manas360.api import throttling


def _raw(redis_cache):
    return shared_redis.client()


def test_counts_atomically_and_sets_the_window_ttl_once(redis_cache):
    assert [throttling._count_hit("throttle:test:a:1", 60) for _ in range(3)] == [1, 2, 3]
    raw = _raw(redis_cache)
    full_key = redis_cache.make_and_validate_key("throttle:test:a:1")
    assert int(raw.get(full_key)) == 3
    assert 0 < raw.ttl(full_key) <= 61
    raw.expire(full_key, 5)  # EXPIRE NX: an existing time to live is never pushed back
    throttling._count_hit("throttle:test:a:1", 60)
    assert raw.ttl(full_key) <= 5
    assert redis_cache.get("throttle:test:a:1") == 4  # readable through the cache API (plain integer)


def test_survives_a_server_that_lost_its_scripts(redis_cache):
    throttling._count_hit("throttle:test:b:1", 60)
    _raw(redis_cache).script_flush()  # what a Redis restart does to loaded scripts
    assert throttling._count_hit("throttle:test:b:1", 60) == 2


def test_one_round_trip_per_hit_on_a_reused_client(redis_cache, monkeypatch):
    throttling._count_hit("throttle:test:c:1", 60)
    client = shared_redis.client()
    assert shared_redis.client() is client  # not a new redis.Redis per request
    commands = []
    original = client.execute_command

    def spy(*args, **options):
        commands.append(args[0])
        return original(*args, **options)

    monkeypatch.setattr(client, "execute_command", spy)
    assert throttling._count_hit("throttle:test:c:1", 60) == 2
    assert commands == ["EVALSHA"]


@pytest.mark.django_db
def test_api_request_is_counted_once_per_request(redis_cache, api_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "anon": "2/m"}
    assert api_client.get("/api/v1/themed-rooms/themes").status_code == 200
    second = api_client.get("/api/v1/themed-rooms/themes")
    assert second.status_code == 200
    assert second["RateLimit-Remaining"] == "0"
    third = api_client.get("/api/v1/themed-rooms/themes")
    assert third.status_code == 429
    assert third.json()["code"] == "throttled"


def test_shared_client_follows_the_cache_settings(redis_cache, settings):
    """The same server and database as the cache, and no client at all without a Redis cache."""
    client = shared_redis.client()
    client.set(redis_cache.make_and_validate_key("probe"), 7)
    assert redis_cache.get("probe") == 7
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert shared_redis.client() is None
    assert [throttling._count_hit("throttle:test:d:1", 60) for _ in range(2)] == [1, 2]  # the cache API's counter
