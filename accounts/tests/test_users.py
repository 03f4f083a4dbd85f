"""Users API (docs/api.md §3)."""

import uuid

import pytest
from django.utils import timezone

from accounts.models import AuditLog, AuthSession, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import ME

pytestmark = pytest.mark.django_db


def test_me_returns_data_and_user_with_every_contract_key(auth_client, user):
    response = auth_client.get(ME)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == body["user"]
    data = body["data"]
    for key in (
        "id", "email", "phoneNumber", "firstName", "lastName", "fullName", "role", "permissions",
        "profilePictureUrl", "bio", "timezone", "language", "isVerified", "createdAt", "updatedAt", "subscription",
    ):  # fmt: skip
        assert key in data, key
    assert data["id"] == str(user.pk)
    assert data["fullName"] == f"{user.first_name} {user.last_name}"
    assert data["subscription"] is None


def test_me_includes_the_active_subscription_summary(auth_client, user):
    from datetime import timedelta

    from subscriptions.models import Plan, Subscription

    plan = Plan.objects.create(
        code="premium-monthly", name="Premium", display_name="Premium monthly", amount_paise=29900,
        period="monthly", duration_days=30, features=["premium_themes"],
    )  # fmt: skip
    now = timezone.now()
    subscription = Subscription.objects.create(
        user=user, plan=plan, status="active", start_date=now, end_date=now + timedelta(days=30)
    )
    summary = auth_client.get(ME).json()["data"]["subscription"]
    assert summary["id"] == str(subscription.pk)
    assert summary["planId"] == "premium-monthly"
    assert summary["planName"] == "Premium"
    assert summary["status"] == "active"
    assert summary["features"] == ["premium_themes"]
    assert summary["endDate"]
    # One shape for one thing: the profile's section is what /subscriptions/current answers.
    assert summary == auth_client.get("/api/v1/subscriptions/current").json()["data"]
    profile = auth_client.get(ME).json()["data"]
    assert "created_at" not in profile
    assert profile["createdAt"].endswith("Z")


def test_me_uses_a_small_fixed_number_of_queries(auth_client, django_assert_max_num_queries):
    auth_client.get(ME)
    with django_assert_max_num_queries(3):
        assert auth_client.get(ME).status_code == 200


def test_patch_me_updates_profile_fields(auth_client, user):
    response = auth_client.patch(
        ME,
        {
            "name": "Meera  Devi Kumar",
            "bio": "Hello",
            "timezone": "Europe/London",
            "language": "hi",
            "avatar": "https://cdn.example.com/a.png",
            "email": "New@Example.com",
        },
        format="json",
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["firstName"] == "Meera"
    assert data["lastName"] == "Devi Kumar"
    assert data["profilePictureUrl"] == "https://cdn.example.com/a.png"
    # A new email is pending until the code sent to it is confirmed (test_email_change.py).
    assert data["pendingEmail"] == "new@example.com"
    old_email = user.email
    user.refresh_from_db()
    assert (user.bio, user.timezone, user.language, user.email) == ("Hello", "Europe/London", "hi", old_email)


def test_null_clears_a_field(auth_client, user):
    user.bio = "old"
    user.profile_picture_url = "https://x.example/a.png"
    user.save()
    response = auth_client.patch(ME, {"bio": None, "profilePictureUrl": None, "lastName": None}, format="json")
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.bio, user.profile_picture_url, user.last_name) == ("", "", "")


@pytest.mark.parametrize("field", ["role", "status", "permissions", "isActive", "isVerified", "isStaff", "phoneNumber"])
def test_protected_fields_are_403_field_not_allowed_and_nothing_changes(auth_client, user, field):
    response = auth_client.patch(ME, {field: "admin", "bio": "changed"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "field_not_allowed"
    user.refresh_from_db()
    assert user.role == "patient"
    assert user.bio == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"language": "xx"}, "language"),
        ({"avatar": "javascript:alert(1)"}, "avatar"),
        ({"profilePictureUrl": "ftp://x.example/a.png"}, "profilePictureUrl"),
        ({"email": "not-an-email"}, "email"),
        ({"firstName": "x" * 101}, "firstName"),
        ({"favouriteColour": "blue"}, "favouriteColour"),
    ],
)
def test_invalid_values_are_400_validation_error(auth_client, user, body, field):
    response = auth_client.patch(ME, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]
    before = User.objects.get(pk=user.pk)
    assert before.timezone == "Asia/Kolkata"


def test_admin_setting_a_taken_email_is_409(admin_client, user):
    UserFactory(email="taken@example.com")
    response = admin_client.patch(f"/api/v1/users/{user.pk}", {"email": "TAKEN@example.com"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    user.refresh_from_db()
    assert user.email != "taken@example.com"


def test_clearing_email_needs_a_phone_number(make_auth_client):
    email_only = UserFactory(phone_number=None)
    response = make_auth_client(email_only).patch(ME, {"email": None}, format="json")
    assert response.status_code == 400
    with_phone = UserFactory()
    assert make_auth_client(with_phone).patch(ME, {"email": None}, format="json").status_code == 200


def test_get_own_id_works(auth_client, user):
    response = auth_client.get(f"/api/v1/users/{user.pk}")
    assert response.status_code == 200
    assert response.json()["data"]["id"] == str(user.pk)
    assert "subscription" in response.json()["data"]


def test_another_users_id_is_404_for_get_patch_delete(auth_client):
    other = UserFactory(bio="private")
    path = f"/api/v1/users/{other.pk}"
    for method in ("get", "patch", "delete"):
        response = getattr(auth_client, method)(path, {"bio": "hacked"}, format="json")
        assert response.status_code == 404, method
        assert response.json()["code"] == "not_found"
    other.refresh_from_db()
    assert other.bio == "private"
    assert other.deleted_at is None


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "%20"])
def test_malformed_id_is_404(auth_client, bad_id):
    response = auth_client.get(f"/api/v1/users/{bad_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_uuid_is_404_even_for_admin(admin_client):
    assert admin_client.get(f"/api/v1/users/{uuid.uuid4()}").status_code == 404


def test_admin_can_read_and_update_any_user_and_it_is_audited(admin_client, admin_user):
    other = UserFactory(first_name="Asha")
    assert admin_client.get(f"/api/v1/users/{other.pk}").status_code == 200
    response = admin_client.patch(f"/api/v1/users/{other.pk}", {"firstName": "Ravi"}, format="json")
    assert response.status_code == 200
    other.refresh_from_db()
    assert other.first_name == "Ravi"
    log = AuditLog.objects.get(action="user.update", resource_id=str(other.pk))
    assert log.actor_id == admin_user.pk
    assert log.changes == {"before": {"first_name": "Asha"}, "after": {"first_name": "Ravi"}}


def test_admin_cannot_change_role_through_profile_api(admin_client):
    other = UserFactory()
    response = admin_client.patch(f"/api/v1/users/{other.pk}", {"role": "admin"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "field_not_allowed"
    other.refresh_from_db()
    assert other.role == "patient"


def test_delete_me_scrubs_personal_data_and_revokes_sessions(make_auth_client):
    user = UserFactory(bio="about me", email="gone@example.com")
    client = make_auth_client(user)
    second = make_auth_client(user)
    response = client.delete(ME)
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.deleted_at is not None
    assert (user.email, user.phone_number, user.first_name, user.last_name, user.bio) == (None, None, "", "", "")
    assert user.is_active is False
    assert not AuthSession.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert second.get(ME).status_code == 401
    assert AuditLog.objects.filter(action="user.delete", resource_id=str(user.pk)).exists()
    # The email is free for a new account.
    UserFactory(email="gone@example.com")


def test_admin_can_delete_another_user(admin_client):
    other = UserFactory()
    assert admin_client.delete(f"/api/v1/users/{other.pk}").status_code == 200
    other.refresh_from_db()
    assert other.deleted_at is not None
    assert admin_client.get(f"/api/v1/users/{other.pk}").status_code == 404


@pytest.mark.parametrize("body", ["[1, 2]", "null", '"text"'])
def test_a_body_that_is_not_an_object_is_400_and_changes_nothing(auth_client, user, body):
    response = auth_client.patch(ME, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == {"nonFieldErrors": ["Send a JSON object."]}
    user.refresh_from_db()
    assert user.bio == ""


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"bio": 5}, "bio", "Must be a string."),
        ({"timezone": 5}, "timezone", "Use an IANA time zone name, e.g. Asia/Kolkata."),
        ({"timezone": " Asia/Kolkata"}, "timezone", "Use an IANA time zone name, e.g. Asia/Kolkata."),
        ({"avatar": ["https://x.example/a.png"]}, "avatar", "Use an http or https URL (at most 500 characters)."),
        ({"email": 7}, "email", "Enter a valid email address."),
    ],
)
def test_wrong_types_are_400_with_the_fields_message(auth_client, user, body, field, message):
    response = auth_client.patch(ME, {**body, "lastName": "Changed"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][field] == [message]
    user.refresh_from_db()
    assert user.last_name != "Changed"


def test_first_and_last_name_win_over_name_and_language_is_lowercased(auth_client, user):
    body = {"name": "Meera Devi", "lastName": "Rao", "language": "HI", "timezone": None}
    response = auth_client.patch(ME, body, format="json")
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.language, user.timezone) == ("Meera", "Rao", "hi", "Asia/Kolkata")


def test_the_schema_lists_every_profile_field():
    from django.test import Client

    schema = Client().get("/api/schema/?format=json")
    properties = schema.json()["components"]["schemas"]["PatchedProfileUpdateRequest"]["properties"]
    assert set(properties) >= {"firstName", "lastName", "name", "bio", "timezone", "language", "avatar", "email"}
    assert properties["bio"]["type"] == "string"
