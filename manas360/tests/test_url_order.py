"""The URL configuration lists the busiest routes first (manas360/urls.py). That is only a speed choice if no
route can take another's requests: every route, filled with sample values, must resolve to itself."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from manas360 import urls

_CONVERTER = re.compile(r"<(?:\w+:)?\w+>")


def _endpoints(patterns, prefix=""):
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _endpoints(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            yield prefix + route, entry


API_ENDPOINTS = [
    (route, pattern) for route, pattern in _endpoints(get_resolver().url_patterns) if route.startswith("api/")
]


@pytest.mark.parametrize(("route", "pattern"), API_ENDPOINTS, ids=[route for route, _ in API_ENDPOINTS])
def test_each_route_resolves_to_itself(route, pattern):
    sample = "/" + _CONVERTER.sub("sample-value-1", route)
    match = resolve(sample)
    assert match.func == pattern.callback, (route, match.route)
    assert match.route == route


def test_the_api_is_tried_first_and_the_catalogue_first_within_it():
    first = urls.urlpatterns[0]
    assert str(first.pattern) == "api/v1/"
    assert first.url_patterns[0].urlconf_name.__name__ == "rooms.urls"
