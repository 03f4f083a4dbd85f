from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.utils.encoding import force_str
from django.utils.functional import Promise
from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import camelize_re, underscore_to_camel
from rest_framework.renderers import JSONRenderer


@lru_cache(maxsize=4096)
def _camel_key(key: str) -> str:
    """`created_at` -> `createdAt`, exactly as djangorestframework-camel-case does it, computed once per key."""
    return camelize_re.sub(underscore_to_camel, key) if "_" in key else key


@lru_cache(maxsize=4096, typed=True)  # typed: True and 1 are different keys
def _key_plan(key: object, ignore_fields: tuple[str, ...], ignore_keys: tuple[str, ...]) -> tuple[object, bool]:
    """(the key to write, whether to camelize its value): decided once per key and option set."""
    new_key = _camel_key(key) if isinstance(key, str) else key
    recurse = key not in ignore_fields and new_key not in ignore_fields
    return (key if (key in ignore_keys or new_key in ignore_keys) else new_key), recurse


# Values returned as they are, checked by exact type before any call (most values of a response are these).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def camelize(
    data: Any, *, ignore_fields: Iterable[str] | None = (), ignore_keys: Iterable[str] | None = (), **_options: object
) -> Any:
    """djangorestframework_camel_case.util.camelize with the same output, without its per-key regex work.

    Response keys repeat (every row of a list has the same ones), so each key is converted once and cached.
    Dicts come back as plain dicts (the renderer only serialises them); any other non-string iterable as a list.
    """
    return _camelize(data, tuple(ignore_fields or ()), tuple(ignore_keys or ()))


def _camelize(data: Any, ignore_fields: tuple[str, ...], ignore_keys: tuple[str, ...]) -> Any:
    if type(data) in _PLAIN or isinstance(data, (str, int, float, bool)):
        return data
    if isinstance(data, Promise):
        return force_str(data)
    if isinstance(data, dict):
        result: dict[object, Any] = {}
        for key, value in data.items():
            if isinstance(key, Promise):
                key = force_str(key)
            out_key, recurse = _key_plan(key, ignore_fields, ignore_keys)
            if recurse and type(value) not in _PLAIN:
                value = _camelize(value, ignore_fields, ignore_keys)
            result[out_key] = value
        return result
    if isinstance(data, (list, tuple)):
        return [item if type(item) in _PLAIN else _camelize(item, ignore_fields, ignore_keys) for item in data]
    try:
        items = iter(data)
    except TypeError:
        return data
    return [_camelize(item, ignore_fields, ignore_keys) for item in items]


class RenderedJSON:
    """A body this renderer produced earlier (a cached page): written out as it is, through the same response path."""

    __slots__ = ("content",)

    def __init__(self, content: bytes) -> None:
        self.content = content


class EnvelopeJSONRenderer(JSONRenderer):
    """camelCase JSON, wrapping bare successful payloads in `{"success": true, "data": ...}`.

    Bodies that already carry `success` (errors, paginated lists, views using
    `success_response`) are rendered as they are.
    """

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if isinstance(data, RenderedJSON):
            return data.content
        response = (renderer_context or {}).get("response")
        is_bare_success = response is not None and response.status_code < 400 and response.status_code != 204
        if is_bare_success and not (isinstance(data, dict) and "success" in data):
            data = {"success": True, "data": data}
        if data is None:
            return b""
        return super().render(
            camelize(data, **camel_settings.JSON_UNDERSCOREIZE), accepted_media_type, renderer_context
        )
