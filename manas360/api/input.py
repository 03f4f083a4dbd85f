"""Reading a request's input: the body and the query string go through a serializer, the same way.

Every view calls `validated_body(Serializer, request)` or `validated_query(Serializer, request)` and gets
the validated data back (400 `validation_error`, or the serializer's own typed error, otherwise). Keys arrive
camelCase and reach the serializer snake_case through the same conversion in both cases (the
djangorestframework-camel-case `underscoreize` the JSON parser applies to bodies), so a query serializer
declares `sort_by`, never an alias map from `sortBy`.
"""

from typing import Any

from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import underscoreize
from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer


def _validated(serializer_class: type[BaseSerializer[Any]], data: object, context: dict[str, Any]) -> dict[str, Any]:
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    validated: dict[str, Any] = serializer.validated_data
    return validated


def validated_body(serializer_class: type[BaseSerializer[Any]], request: Request, **context: Any) -> dict[str, Any]:
    """The request body (already snake_case: the parser converted it), validated by `serializer_class`."""
    return _validated(serializer_class, request.data, context)


def query_params(request: Request) -> dict[str, Any]:
    """The query string as a plain dict with snake_case keys (the last value of a repeated parameter).

    When a parameter comes in both spellings (`startDate` and `start_date`), the camelCase one, which the contract
    documents, wins: the keys conversion leaves unchanged are read first, so the converted ones overwrite them.
    """
    params = request.query_params
    options = camel_settings.JSON_UNDERSCOREIZE
    ordered = sorted(params, key=lambda key: next(iter(underscoreize({key: None}, **options))) != key)
    snake: dict[str, Any] = underscoreize({key: params.get(key) for key in ordered}, **options)
    return snake


def validated_query(serializer_class: type[BaseSerializer[Any]], request: Request, **context: Any) -> dict[str, Any]:
    """The query parameters, validated by `serializer_class`; unknown ones (`page`, `limit`, ...) are ignored."""
    return _validated(serializer_class, query_params(request), context)
