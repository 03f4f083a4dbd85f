"""The renderer's cached camelize gives exactly the output of djangorestframework-camel-case's."""

import datetime
import decimal
import uuid

import pytest
from django.utils.translation import gettext_lazy
from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import camelize as library_camelize

from manas360.api.renderers import VerbatimKey, camelize

OPTIONS = camel_settings.JSON_UNDERSCOREIZE

PAYLOADS = [
    None,
    "snake_case_string_values_stay",
    42,
    [],
    {},
    {"first_name": "A", "last_name": None, "is_new_user": True, "amount_paise": 29900},
    {"created_at": "2026-01-01T00:00:00Z", "updated_at": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)},
    {"session_data": {"inner_key": 1, "deep": [{"x_y": 2}]}, "metadata": {"a_b": "c"}, "changes": {"before_x": 1}},
    {"phq9_score": 3, "gad_7_score": 4, "top_10_themes": [1, 2], "v2_api": "x", "a1_b2_c3": 1},
    {"tokens": {"access_token": "t", "refresh_token": "r", "expires_in": 900}},
    {"rows": ({"theme_id": uuid.UUID(int=1), "avg_rating": decimal.Decimal("4.50")},), "tags": {"only_one"}},
    {gettext_lazy("lazy_key"): gettext_lazy("lazy value"), 7: "int key", "_leading": 1, "trailing_": 2},
    [{"user_id": i, "plan_name": f"p{i}", "features": ["premium_themed_rooms"]} for i in range(30)],
    {"already_camel": {"alreadyCamel": 1, "mixed_Case_key": 2, "double__under": 3}},
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_same_output_as_the_library(payload):
    expected = library_camelize(payload, **OPTIONS)
    assert camelize(payload, **OPTIONS) == expected


def test_ignored_fields_keep_their_contents_and_created_at_is_camelized():
    out = camelize({"session_data": {"keep_me": 1}, "created_at": "x", "other_key": {"nested_key": 2}}, **OPTIONS)
    assert out == {"sessionData": {"keep_me": 1}, "createdAt": "x", "otherKey": {"nestedKey": 2}}


def test_a_verbatim_key_is_written_as_given_beside_its_camel_case_twin():
    out = camelize({"createdAt": "x", VerbatimKey("created_at"): "x", "rows": [{VerbatimKey("a_b"): 1}]}, **OPTIONS)
    assert out == {"createdAt": "x", "created_at": "x", "rows": [{"a_b": 1}]}
    # A plain key with the same text is still camelized after a verbatim one was seen (no shared cache entry).
    assert camelize({"a_b": 1}, **OPTIONS) == {"aB": 1}
