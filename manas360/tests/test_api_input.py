"""The one input call shape: bodies and query strings reach serializers snake_case through the same conversion."""

import pytest
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from manas360.api.errors import ValidationFailed
from manas360.api.input import validated_body, validated_query
from manas360.api.pagination import PageLimitPagination
from manas360.api.parsers import LimitedCamelCaseJSONParser


class ListQuery(serializers.Serializer):
    sort_by = serializers.ChoiceField(choices=("createdAt", "name"), required=False)
    start_date = serializers.CharField(required=False)
    resource = serializers.CharField(required=False)
    resource_type = serializers.CharField(required=False, source="resource")


def _get(query: str) -> Request:
    return Request(APIRequestFactory().get(f"/api/v1/x?{query}"))


def test_camel_case_query_parameters_arrive_snake_case():
    assert validated_query(ListQuery, _get("sortBy=name&startDate=2026-01-01")) == {
        "sort_by": "name",
        "start_date": "2026-01-01",
    }


def test_the_camel_case_spelling_wins_over_the_snake_case_one_in_either_order():
    assert validated_query(ListQuery, _get("start_date=snake&startDate=camel"))["start_date"] == "camel"
    assert validated_query(ListQuery, _get("startDate=camel&start_date=snake"))["start_date"] == "camel"


def test_an_alias_is_a_field_with_a_source_not_a_key_map():
    assert validated_query(ListQuery, _get("resourceType=user")) == {"resource": "user"}


def test_unknown_parameters_are_ignored_and_a_bad_value_is_a_400():
    assert validated_query(ListQuery, _get("page=2&limit=5&whatever=1")) == {}
    with pytest.raises(serializers.ValidationError) as caught:
        validated_query(ListQuery, _get("sortBy=price"))
    assert "sort_by" in caught.value.detail


def test_a_body_goes_through_the_same_call():
    raw = APIRequestFactory().post("/api/v1/x", {"sortBy": "name"}, format="json")
    request = Request(raw, parsers=[LimitedCamelCaseJSONParser()])
    assert validated_body(ListQuery, request) == {"sort_by": "name"}


class _CountingRows(list):
    counted = 0

    def count(self) -> int:
        self.counted += 1
        return len(self)


@pytest.mark.parametrize(
    ("query", "counts", "total"),
    [
        ("limit=10", 0, 7),  # a short first page is the whole list
        ("limit=7", 1, 7),  # a full page cannot tell whether more follow
        ("limit=5&page=2", 0, 7),  # a short later page: offset + rows
        ("limit=5&page=9", 1, 7),  # past the end: counted
    ],
)
def test_the_count_runs_only_when_the_page_cannot_tell_the_total(query, counts, total):
    rows = _CountingRows(range(7))
    paginator = PageLimitPagination()
    paginator.paginate_rows(lambda offset, limit: rows[offset : offset + limit], rows.count, _get(query))
    assert (rows.counted, paginator.total) == (counts, total)


def test_a_bad_page_is_a_400():
    with pytest.raises(ValidationFailed):
        PageLimitPagination().paginate_queryset([1, 2], _get("page=0"))
