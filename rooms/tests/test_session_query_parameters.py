"""GET /themed-rooms/sessions reads `page` and `limit` through the shared paginator: wrong types are a clear 400
in the envelope (never a 500), unknown parameters are ignored."""

import pytest

from rooms.tests.factories import RoomSessionFactory

SESSIONS = "/api/v1/themed-rooms/sessions"

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "abc"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": "0"}, "page"),
        ({"limit": "-3"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "9" * 5000}, "limit"),  # beyond Python's int() digit limit
        ({"page": "\u0661"}, None),  # ARABIC-INDIC DIGIT ONE: int() reads it; a valid first page
    ],
)
def test_wrong_page_or_limit(auth_client, user, params, field):
    RoomSessionFactory(user=user)
    response = auth_client.get(SESSIONS, params)
    body = response.json()
    if field is None:
        assert response.status_code == 200
        assert body["pagination"]["page"] == 1
        return
    assert response.status_code == 400, response.content
    assert body["success"] is False
    assert body["code"] == "validation_error"
    assert list(body["errors"]) == [field]


def test_unknown_parameters_are_ignored(auth_client, user):
    RoomSessionFactory(user=user)
    plain = auth_client.get(SESSIONS).json()
    with_extras = auth_client.get(SESSIONS, {"status": "nonsense", "sort": "-x", "themeId": "1"}).json()
    assert with_extras == plain
    assert len(plain["data"]) == 1


def test_huge_limit_is_capped(auth_client, user):
    RoomSessionFactory(user=user)
    body = auth_client.get(SESSIONS, {"limit": "9" * 400}).json()
    assert body["pagination"]["limit"] == 100
    assert len(body["data"]) == 1
