from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.views import APIView

from manas360.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageLimitPagination, _positive_int


class CountSavingPagination(PageLimitPagination):
    """PageLimitPagination that skips the COUNT query when the page itself tells the total.

    A page that is not full (or an empty first page) is the last one, so total = offset + rows.
    Only a full page, or an empty page past the end, costs the extra COUNT. The theme catalogue
    (nine themes, limit 20) is therefore one query for everyone.
    """

    def paginate_queryset(
        self, queryset: QuerySet[Any] | Sequence[Any], request: Request, view: APIView | None = None
    ) -> list[Any]:
        return self.paginate_rows(
            lambda offset, limit: list(queryset[offset : offset + limit]),
            queryset.count if isinstance(queryset, QuerySet) else lambda: len(queryset),
            request,
        )

    def paginate_rows(
        self, fetch: Callable[[int, int], list[Any]], count: Callable[[], int], request: Request
    ) -> list[Any]:
        """The same, for any source: `fetch(offset, limit)` returns the page's rows, `count()` the total."""
        self.page = _positive_int(request, "page", 1)
        self.limit = min(_positive_int(request, "limit", DEFAULT_LIMIT), MAX_LIMIT)
        offset = (self.page - 1) * self.limit
        rows = fetch(offset, self.limit)
        if 0 < len(rows) < self.limit or (not rows and offset == 0):
            self.total = offset + len(rows)
        else:
            self.total = count()
        return rows
