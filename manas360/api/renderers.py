from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import camelize
from rest_framework.renderers import JSONRenderer


class EnvelopeJSONRenderer(JSONRenderer):
    """camelCase JSON, wrapping bare successful payloads in `{"success": true, "data": ...}`.

    Bodies that already carry `success` (errors, paginated lists, views using
    `success_response`) are rendered as they are.
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        is_bare_success = response is not None and response.status_code < 400 and response.status_code != 204
        if is_bare_success and not (isinstance(data, dict) and "success" in data):
            data = {"success": True, "data": data}
        if data is None:
            return b""
        return super().render(
            camelize(data, **camel_settings.JSON_UNDERSCOREIZE), accepted_media_type, renderer_context
        )
