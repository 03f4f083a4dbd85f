"""The renderer's camelize: cached per-key plans keep the library's exact output."""

from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import camelize as library_camelize
from rest_framework.test import APIRequestFactory

from manas360.api.renderers import EnvelopeJSONRenderer, camelize

OPTIONS = camel_settings.JSON_UNDERSCOREIZE


def test_a_list_present_twice_has_the_same_output():
    rows = [{"theme_id": index, "is_real_ar": True, "session_data": {"keep_me": 1}} for index in range(3)]
    payload = {"success": True, "data": rows, "themes": rows, "pagination": {"page_count": 1}}
    out = camelize(payload, **OPTIONS)
    assert out == library_camelize(payload, **OPTIONS)
    assert out["data"][0] == {"themeId": 0, "isRealAr": True, "sessionData": {"keep_me": 1}}


def test_equal_but_distinct_lists_are_each_converted():
    payload = {"first_list": [{"a_b": 1}], "second_list": [{"a_b": 1}]}
    assert camelize(payload, **OPTIONS) == library_camelize(payload, **OPTIONS)


def test_non_string_keys_equal_to_each_other_keep_their_own_identity():
    for payload in ({True: {"x_y": 1}}, {1: {"x_y": 1}}, {1.0: "f"}, {True: "t"}):
        out = camelize(payload, **OPTIONS)
        assert out == library_camelize(payload, **OPTIONS)
        assert [type(key) for key in out] == [type(key) for key in payload]


def test_option_sets_do_not_share_plans():
    assert camelize({"created_at": 1, "session_data": {"a_b": 1}}, **OPTIONS) == {
        "createdAt": 1,
        "sessionData": {"a_b": 1},
    }
    assert camelize({"created_at": 1, "session_data": {"a_b": 1}}) == {"createdAt": 1, "sessionData": {"aB": 1}}


def test_renderer_output_for_a_shared_list_is_valid_json():
    import json

    from rest_framework.response import Response

    rows = [{"is_premium": False}]
    response = Response({"success": True, "data": rows, "themes": rows})
    request = APIRequestFactory().get("/")
    body = EnvelopeJSONRenderer().render(response.data, renderer_context={"response": response, "request": request})
    assert json.loads(body) == {"success": True, "data": [{"isPremium": False}], "themes": [{"isPremium": False}]}
