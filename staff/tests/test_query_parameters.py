"""Every staff list reads its query through a serializer: unknown parameters are ignored (same answer), values
of the wrong type are a clear 400 validation_error naming the parameter (never a 500)."""

import pytest

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/admin/users",
    "/api/v1/admin/therapists",
    "/api/v1/admin/subscriptions",
    "/api/v1/admin/payments",
    "/api/v1/admin/audit-logs",
]


@pytest.mark.parametrize("path", LISTS)
def test_unknown_parameters_are_ignored(admin_client, path):
    UserFactory()
    plain = admin_client.get(path)
    assert plain.status_code == 200
    extras = admin_client.get(path, {"colour": "blue", "_": "1700000000", "fields": "id"})
    assert extras.json() == plain.json()


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/admin/users", {"verified": "maybe"}, "verified"),
        ("/api/v1/admin/users", {"role": "1"}, "role"),
        ("/api/v1/admin/users", {"order": "sideways"}, "order"),
        ("/api/v1/admin/users", {"search": "x" * 101}, "search"),
        ("/api/v1/admin/therapists", {"verified": "2"}, "verified"),
        ("/api/v1/admin/subscriptions", {"status": "0"}, "status"),
        ("/api/v1/admin/payments", {"from": "12"}, "from"),
        ("/api/v1/admin/audit-logs", {"to": "true"}, "to"),
        ("/api/v1/admin/users", {"page": "first"}, "page"),
    ],
)
def test_wrong_types_are_validation_errors(admin_client, path, params, field):
    response = admin_client.get(path, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["success"] is False
    assert body["code"] == "validation_error"
    assert field in body["errors"]
