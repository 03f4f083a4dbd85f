from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import underscoreize
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from manas360.api.errors import InvalidJson, PayloadTooLarge
from manas360.api.json_input import MalformedJson, loads_strict


class LimitedCamelCaseJSONParser(JSONParser):
    """JSON with camelCase keys, read with a hard size limit.

    DRF reads the WSGI stream itself, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    never applies to JSON bodies; the limit is enforced here instead (and by
    Content-Length in ApiBoundaryMiddleware before the view runs).
    """

    def parse(
        self, stream: IO[Any] | None, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        limit: int = settings.MAX_JSON_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge()
        if not raw.strip():
            return {}
        try:
            data = loads_strict(raw)
        except MalformedJson as exc:
            raise ParseError(InvalidJson.default_message, code=InvalidJson.code) from exc
        return underscoreize(data, **camel_settings.JSON_UNDERSCOREIZE)
