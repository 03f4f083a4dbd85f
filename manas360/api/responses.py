"""Helpers for views that put keys beside `data` (docs/api.md §1, docs/web-client.md)."""

from collections.abc import Mapping

from rest_framework.response import Response


def success_response(
    data: object = None,
    *,
    message: str | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **top_level: object,
) -> Response:
    """`{"success": true, "data": ..., "message"?: ..., **top_level}`.

    Views whose answer is just `data` can return `Response(data)`: the renderer
    wraps it. Use this when the contract asks for extra top-level keys
    (`user`, `themes`, `subscription`, `csrfToken`, ...).
    """
    body: dict[str, object] = {"success": True, "data": data}
    if message:
        body["message"] = message
    body.update(top_level)
    return Response(body, status=status, headers=headers)
