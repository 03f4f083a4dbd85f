from collections.abc import Mapping
from typing import Any

from djangorestframework_camel_case.render import CamelCaseJSONRenderer


class EnvelopeJSONRenderer(CamelCaseJSONRenderer):
    """camelCase JSON (djangorestframework-camel-case, settings.JSON_CAMEL_CASE), wrapping bare successful
    payloads in `{"success": true, "data": ...}`.

    Bodies that already carry `success` (errors, paginated lists, views using
    `success_response`) are rendered as they are.
    """

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        response = (renderer_context or {}).get("response")
        is_bare_success = response is not None and response.status_code < 400 and response.status_code != 204
        if is_bare_success and not (isinstance(data, dict) and "success" in data):
            data = {"success": True, "data": data}
        if data is None:
            return b""
        body: bytes = super().render(data, accepted_media_type, renderer_context)
        return body
