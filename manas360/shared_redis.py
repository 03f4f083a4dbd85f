"""A redis-py client on the Redis server behind Django's default cache, for what the cache API cannot say.

The rate-limit counter (one atomic script per hit) and the catalogue's version stamp need Redis commands that
`django.core.cache` does not offer. They use one long-lived `redis.Redis` per server, built with redis-py's
public `from_url` from the cache's own `LOCATION` and socket options, so they reach the same server and
database, and they write keys through `cache.make_key` so the cache API reads the same entries. (Django's
`RedisCache` has no public client accessor: its internal one builds a new `redis.Redis`, copying ~170 response
callbacks, on every call.) Without a Redis cache (development, most tests: LocMemCache) `client()` is None and
callers use the cache API.
"""

import threading
from typing import Any

import redis
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS
from redis.commands.core import Script
from redis.exceptions import RedisError

_REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"
# Options of Django's RedisCache that are not redis-py connection arguments.
_DJANGO_ONLY_OPTIONS = frozenset({"db", "pool_class", "parser_class", "serializer"})

# What an unreachable or failing Redis raises (callers fail open or skip their cache on these).
ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

_clients: dict[tuple[Any, ...], redis.Redis] = {}
_lock = threading.Lock()
_scripts: dict[tuple[redis.Redis, str], Script] = {}


def _first_location(location: object) -> str:
    if isinstance(location, (list, tuple)):
        return str(location[0])
    return str(location).split(",")[0].strip()


def client() -> redis.Redis | None:
    """The client for the default cache's (first, primary) Redis server, or None when it is not Redis."""
    config = settings.CACHES.get(DEFAULT_CACHE_ALIAS, {})
    if config.get("BACKEND") != _REDIS_BACKEND:
        return None
    url = _first_location(config.get("LOCATION", ""))
    options = {key: value for key, value in (config.get("OPTIONS") or {}).items() if key not in _DJANGO_ONLY_OPTIONS}
    key = (url, tuple(sorted(options.items())))
    found = _clients.get(key)
    if found is None:
        with _lock:
            found = _clients.get(key)
            if found is None:
                found = _clients[key] = redis.Redis.from_url(url, **options)
    return found


def script(client: redis.Redis, source: str) -> Script:
    """The Lua `source` as a callable `Script` on `client`, registered once per client.

    Calls run `EVALSHA`; redis-py loads the script again when the server lost it (restarted or flushed).
    """
    found = _scripts.get((client, source))
    if found is None:
        found = _scripts[(client, source)] = client.register_script(source)
    return found
