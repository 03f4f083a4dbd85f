"""The API renderer: camelCase keys as configured in settings.JSON_CAMEL_CASE, bare payloads in the envelope."""

import json

from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from manas360.api.keys import VerbatimKey
from manas360.api.renderers import EnvelopeJSONRenderer


def _render(data, status=200) -> dict:
    response = Response(data, status=status)
    context = {"response": response, "request": APIRequestFactory().get("/")}
    return json.loads(EnvelopeJSONRenderer().render(data, "application/json", context))


def test_bare_payloads_are_wrapped_and_camelized_except_the_configured_fields():
    body = _render({"first_name": "Asha", "created_at": "x", "session_data": {"keep_me": 1}, "item_2": 2})
    assert body == {
        "success": True,
        "data": {"firstName": "Asha", "createdAt": "x", "sessionData": {"keep_me": 1}, "item2": 2},
    }


def test_a_verbatim_key_is_written_as_given_beside_its_camelcase_twin():
    rows = [{"createdAt": "x", VerbatimKey("created_at"): "x", "nested": {VerbatimKey("a_b"): 1, "c_d": 2}}]
    assert _render(rows)["data"] == [{"createdAt": "x", "created_at": "x", "nested": {"a_b": 1, "cD": 2}}]


def test_bodies_that_carry_success_are_rendered_as_they_are():
    assert _render({"success": False, "error_code": "x"}, status=400) == {"success": False, "errorCode": "x"}
