"""TokenSessionAuthentication: revocation, suspension, token types, CSRF (docs/api.md §1, §11)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuthSession, MfaChallenge
from accounts.sessions import session_revoke
from accounts.tokens import make_mfa_token

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"


def test_bearer_token_reaches_a_protected_endpoint(auth_client, user):
    response = auth_client.get(ME)
    assert response.status_code == 200
    assert response.json()["data"]["id"] == str(user.pk)


def test_no_credentials_is_401_not_authenticated(api_client):
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_garbage_token_is_401_token_invalid(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_non_bearer_scheme_is_token_invalid(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Basic abc")
    assert api_client.get(ME).json()["code"] == "token_invalid"


def test_expired_access_token_is_401_token_expired(auth_client):
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = auth_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


def test_access_token_refused_right_after_session_revoked(auth_client):
    assert auth_client.get(ME).status_code == 200
    session_revoke(now=timezone.now(), session_id=auth_client.session_id)
    response = auth_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"


def test_access_token_refused_right_after_suspension(auth_client, user):
    assert auth_client.get(ME).status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = auth_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "account_suspended"


def test_access_token_refused_after_soft_delete(auth_client, user):
    user.deleted_at = timezone.now()
    user.save(update_fields=["deleted_at"])
    response = auth_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "account_suspended"


def test_mfa_token_is_refused_as_an_access_token(api_client, admin_user):
    challenge = MfaChallenge.objects.create(user=admin_user, expires_at=timezone.now() + timedelta(minutes=5))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_mfa_token(challenge=challenge)}")
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_fixture_clients_have_real_sessions(make_auth_client, admin_user):
    client = make_auth_client(admin_user, mfa_verified=True)
    session = AuthSession.objects.get(pk=client.session_id)
    assert session.user_id == admin_user.pk
    assert session.mfa_completed is True
