import math
from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
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

    Bad values are a 400, a page past the end is an empty list, not an error. The page is read first and the
    COUNT query runs only when the page cannot tell the total: a page that is not full (or an empty first page)
    is the last one, so total = offset + rows. Most lists (a user's payments, the theme catalogue) are one query.
    """

    def paginate_queryset(
        self, queryset: QuerySet[Any] | Sequence[Any], request: Request, view: APIView | None = None
    ) -> list[Any]:
        def fetch(offset: int, limit: int) -> list[Any]:
            return list(queryset[offset : offset + limit])

        def count() -> int:
            return queryset.count() if isinstance(queryset, QuerySet) else len(queryset)

        return self.paginate_rows(fetch, count, request)

    def paginate_rows(
        self, fetch: Callable[[int, int], Sequence[Any]], count: Callable[[], int], request: Request
    ) -> list[Any]:
        """The same, for any source: `fetch(offset, limit)` returns the page's rows, `count()` the total."""
        self.page = _positive_int(request, "page", 1)
        self.limit = min(_positive_int(request, "limit", DEFAULT_LIMIT), MAX_LIMIT)
        offset = (self.page - 1) * self.limit
        rows = list(fetch(offset, self.limit))
        if 0 < len(rows) < self.limit or (not rows and offset == 0):
            self.total = offset + len(rows)
        else:
            self.total = count()
        return rows

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


def paginated_response(
    request: Request,
    rows: Any,
    serializer_class: type[BaseSerializer[Any]],
    *,
    context: dict[str, Any] | None = None,
) -> Response:
    """The one way a view answers a list: one page of `rows` (a queryset or a list), each row serialized."""
    paginator = PageLimitPagination()
    page = paginator.paginate_queryset(rows, request)
    return paginator.get_paginated_response(serializer_class(page, many=True, context=context or {}).data)
