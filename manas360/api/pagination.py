import math
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from manas360.api.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def _positive_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValidationFailed(f"`{name}` must be a positive integer.", errors={name: ["Must be a positive integer."]})
    return value


class PageLimitPagination(BasePagination):
    """`?page=` and `?limit=` with `{page, limit, total, pages}` beside `data` (docs/api.md §1).

    Bad values are a 400, a page past the end is an empty list, not an error.
    """

    def paginate_queryset(
        self, queryset: QuerySet[Any] | Sequence[Any], request: Request, view: APIView | None = None
    ) -> list[Any]:
        self.page = _positive_int(request, "page", 1)
        self.limit = min(_positive_int(request, "limit", DEFAULT_LIMIT), MAX_LIMIT)
        self.total = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
        offset = (self.page - 1) * self.limit
        return list(queryset[offset : offset + self.limit])

    def get_paginated_response(self, data: object, **top_level: object) -> Response:
        return Response(
            {
                "success": True,
                "data": data,
                **top_level,
                "pagination": {
                    "page": self.page,
                    "limit": self.limit,
                    "total": self.total,
                    "pages": math.ceil(self.total / self.limit) if self.total else 0,
                },
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "success": {"type": "boolean"},
                "data": schema,
                "pagination": {
                    "type": "object",
                    "properties": {name: {"type": "integer"} for name in ("page", "limit", "total", "pages")},
                },
            },
        }
