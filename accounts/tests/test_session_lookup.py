"""The per-request session check reads session + user with one fixed SQL statement (accounts.authentication,
kept for its measured gain: docs/performance.md). It must return the same full rows as the ORM, and every
refusal is decided on the database's current state (no cache): a missing session or a
token whose user does not own the session is `token_invalid`, an inactive or deleted user `account_suspended`,
a revoked session `session_revoked`, all decided on the database's current state (no cache).
"""

import uuid
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.tokens import AccessToken

from accounts import authentication
from accounts.authentication import session_with_user
from accounts.models import AuthSession, User
from accounts.sessions import session_revoke
from accounts.tests.factories import AdminFactory, UserFactory
from accounts.tokens import make_access_token

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"


def _field_values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_lookup_returns_the_same_full_rows_as_the_orm(make_auth_client):
    owner = UserFactory(first_name="Ravi", bio="Line one\nline two", last_login=timezone.now())
    client = make_auth_client(owner)
    AuthSession.objects.filter(pk=client.session_id).update(
        last_used_at=timezone.now(), ip_address="203.0.113.9", user_agent="ua", mfa_completed=True
    )

    session = session_with_user(client.session_id)
    expected = AuthSession.objects.select_related("user").get(pk=client.session_id)

    assert _field_values(session) == _field_values(expected)
    assert _field_values(session.user) == _field_values(expected.user)
    assert isinstance(session.pk, uuid.UUID)
    assert isinstance(session.user_id, uuid.UUID)
    assert timezone.is_aware(session.created_at)
    assert timezone.is_aware(session.user.last_login)
    assert session.user.password == User.objects.get(pk=owner.pk).password
    assert session._state.adding is False
    assert session.user._state.adding is False
    assert session._state.db == "default"


def test_lookup_accepts_a_string_id_and_loads_the_user_without_another_query(
    make_auth_client, django_assert_num_queries
):
    client = make_auth_client(UserFactory())
    with django_assert_num_queries(1):
        session = session_with_user(str(client.session_id))
        assert session.user.pk == client.user.pk


def test_lookup_of_an_unknown_or_malformed_id_is_none(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert session_with_user(uuid.uuid4()) is None
    with django_assert_num_queries(0):
        assert session_with_user("not-a-uuid") is None
        assert session_with_user(None) is None


def test_lookup_reports_revoked_sessions_and_inactive_users_as_they_are(make_auth_client):
    owner = UserFactory()
    client = make_auth_client(owner)
    session_revoke(now=timezone.now(), session_id=client.session_id)
    User.objects.filter(pk=owner.pk).update(is_active=False, deleted_at=timezone.now())

    session = session_with_user(client.session_id)

    assert session.revoked_at is not None
    assert session.revoked_reason == "logout"
    assert session.user.is_active is False
    assert session.user.deleted_at is not None


def test_authenticated_request_checks_the_session_with_its_user_in_one_query(
    make_auth_client, django_assert_num_queries
):
    client = make_auth_client(UserFactory())
    session_lookup = CaptureQueriesContext(connection)
    with session_lookup:
        assert session_with_user(client.session_id) is not None
    assert len(session_lookup) == 1
    client.get(ME)  # warm: connection set-up is not the request's cost
    # The session with its user, then the active subscription /users/me shows.
    with django_assert_num_queries(2):
        assert client.get(ME).status_code == 200


def test_token_for_a_session_that_no_longer_exists_is_token_invalid(make_auth_client):
    client = make_auth_client(UserFactory())
    AuthSession.objects.filter(pk=client.session_id).delete()
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_token_naming_another_user_than_the_session_owner_is_token_invalid(api_client, make_auth_client):
    owner, intruder = UserFactory(), UserFactory()
    session = AuthSession.objects.get(pk=make_auth_client(owner).session_id)
    forged = make_access_token(user=intruder, session=session)  # validly signed, wrong owner
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_token_with_a_malformed_session_id_is_token_invalid(api_client):
    owner = UserFactory()
    token = AccessToken()
    token["sub"] = str(owner.pk)
    token["sid"] = "not-a-uuid"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_suspension_takes_effect_on_the_next_request(make_auth_client):
    owner = UserFactory()
    client = make_auth_client(owner)
    assert client.get(ME).status_code == 200
    User.objects.filter(pk=owner.pk).update(is_active=False)
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "account_suspended"
    User.objects.filter(pk=owner.pk).update(is_active=True)
    assert client.get(ME).status_code == 200


def test_deleted_user_is_suspended_even_when_the_session_is_revoked_too(make_auth_client):
    owner = UserFactory()
    client = make_auth_client(owner)
    session_revoke(now=timezone.now(), session_id=client.session_id)
    User.objects.filter(pk=owner.pk).update(deleted_at=timezone.now())
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "account_suspended"


def test_revoked_session_is_refused_while_the_users_other_session_still_works(make_auth_client):
    owner = UserFactory()
    first, second = make_auth_client(owner), make_auth_client(owner)
    session_revoke(now=timezone.now(), session_id=first.session_id)
    assert first.get(ME).json()["code"] == "session_revoked"
    assert second.get(ME).status_code == 200


def test_request_auth_session_is_the_full_row_with_its_user(make_auth_client):
    admin = AdminFactory()
    client = make_auth_client(admin, mfa_verified=True)
    response = client.get("/api/v1/admin/mfa/status")
    assert response.status_code == 200
    session = session_with_user(client.session_id)
    assert session.mfa_completed is True
    assert session.user.role == "admin"


def test_restricted_admin_session_is_still_limited_to_mfa_and_me(make_auth_client):
    client = make_auth_client(AdminFactory(), mfa_verified=False)
    assert client.get(ME).status_code == 200
    response = client.get("/api/v1/admin/users")
    assert response.status_code == 403
    assert response.json()["code"] == "admin_mfa_required"


def test_statement_is_built_from_the_models_metadata():
    from accounts.authentication import _SESSION_WITH_USER

    sql = _SESSION_WITH_USER.prepared_for(connections["default"]).sql
    quote = connection.ops.quote_name
    for model in (AuthSession, User):
        assert quote(model._meta.db_table) in sql
        for field in model._meta.concrete_fields:
            assert quote(field.column) in sql
    assert sql.count("%s") == 1


def test_expired_session_row_state_does_not_matter_only_revocation_does(make_auth_client):
    """Sessions have no expiry column of their own: an old but unrevoked session keeps working (as before)."""
    client = make_auth_client(UserFactory())
    AuthSession.objects.filter(pk=client.session_id).update(created_at=timezone.now() - timedelta(days=400))
    assert client.get(ME).status_code == 200


def test_a_tampered_variant_of_a_valid_token_is_refused(make_auth_client):
    client = make_auth_client(UserFactory())
    raw = client._credentials["HTTP_AUTHORIZATION"].split(" ", 1)[1]
    authentication.decode_access_token(raw)
    head, body, signature = raw.split(".")
    tampered = f"{head}.{body}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    with pytest.raises(AuthenticationFailed) as refused:
        authentication.decode_access_token(tampered)
    assert refused.value.get_codes() == "token_invalid"
