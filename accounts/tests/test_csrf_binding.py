"""The CSRF token is bound to the session it was issued for (docs/auth.md "CSRF").

Attacks reproduced: (1) one user's `csrf_token` cookie and header, planted next to another user's access
cookie, passed the double-submit check; (2) `POST /auth/logout` with a refresh cookie and any `Authorization`
header skipped the CSRF check altogether, so a cross-site form could end a victim's session.
"""

import pytest

from accounts.models import AuthSession
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import LOGOUT, ME

pytestmark = pytest.mark.django_db


def _plant_csrf(client, token: str) -> None:
    client.cookies["csrf_token"] = token
    client.cookies["csrf_token"]["path"] = "/"
    client.credentials(HTTP_X_CSRF_TOKEN=token)


def test_another_sessions_csrf_token_does_not_pass_on_a_cookie_session(cookie_client_for):
    victim = cookie_client_for(UserFactory(first_name="Asha"))
    attacker = cookie_client_for(UserFactory())
    _plant_csrf(victim, attacker.tokens.csrf_token)

    response = victim.patch(ME, {"firstName": "Hacked"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    victim.user.refresh_from_db()
    assert victim.user.first_name == "Asha"


def test_a_second_session_of_the_same_user_has_its_own_token(cookie_client_for):
    user = UserFactory(first_name="Asha")
    first, second = cookie_client_for(user), cookie_client_for(user)
    _plant_csrf(first, second.tokens.csrf_token)

    assert first.patch(ME, {"firstName": "Changed"}, format="json").json()["code"] == "csrf_failed"
    user.refresh_from_db()
    assert user.first_name == "Asha"


def test_the_sessions_own_token_passes(cookie_client_for):
    client = cookie_client_for(UserFactory())
    assert client.patch(ME, {"firstName": "Mine"}, format="json").status_code == 200


def test_logout_with_refresh_cookie_and_a_junk_authorization_header_needs_the_csrf_token(api_client, cookie_client_for):
    victim = cookie_client_for(UserFactory(), csrf_header=False)
    del victim.cookies["access_token"]  # expired: only the refresh cookie (Path /api/v1/auth) is sent

    response = victim.post(LOGOUT, {}, format="json", HTTP_AUTHORIZATION="Bearer junk")

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert AuthSession.objects.get(pk=victim.session_id).revoked_at is None


@pytest.mark.parametrize("authorization", ["Bearer junk", "Basic eDp5", ""])
def test_logout_with_refresh_cookie_and_another_sessions_csrf_token_ends_nothing(cookie_client_for, authorization):
    victim = cookie_client_for(UserFactory())
    other = cookie_client_for(UserFactory())
    del victim.cookies["access_token"]
    _plant_csrf(victim, other.tokens.csrf_token)
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = victim.post(LOGOUT, {"allDevices": True}, format="json", **headers)

    assert response.json()["code"] == "csrf_failed"
    assert AuthSession.objects.filter(revoked_at__isnull=True).count() == 2


def test_logout_with_refresh_cookie_and_its_csrf_token_ends_the_session(cookie_client_for):
    client = cookie_client_for(UserFactory())
    del client.cookies["access_token"]

    response = client.post(LOGOUT, {}, format="json", HTTP_AUTHORIZATION="Bearer junk")

    assert response.status_code == 200
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "logout"


def test_logout_with_a_valid_bearer_token_needs_no_csrf_header(make_auth_client):
    client = make_auth_client(UserFactory())
    assert client.post(LOGOUT, {}, format="json").status_code == 200
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "logout"
