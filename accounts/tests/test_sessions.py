"""Refresh rotation, reuse detection, logout, cookies and CSRF (docs/api.md §1, §2, §11 "Refresh")."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditLog, AuthSession, RefreshToken
from accounts.sessions import session_start
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import LOGOUT, ME, REFRESH, sign_in_by_otp

pytestmark = pytest.mark.django_db


def _refresh_body(client, token):
    return client.post(REFRESH, {"refreshToken": token}, format="json")


def test_cookies_have_the_contract_attributes_in_production(api_client, settings):
    settings.AUTH_COOKIE_SECURE = True
    settings.AUTH_COOKIE_SAMESITE = "Strict"
    response = sign_in_by_otp(api_client)
    access, refresh, csrf = (response.cookies[name] for name in ("access_token", "refresh_token", "csrf_token"))
    assert access["httponly"]
    assert access["path"] == "/"
    assert access["max-age"] == 900
    assert refresh["httponly"]
    assert refresh["path"] == "/api/v1/auth"
    assert refresh["max-age"] == 7 * 86400
    assert not csrf["httponly"]
    assert csrf["path"] == "/"
    for cookie in (access, refresh, csrf):
        assert cookie["secure"] is True
        assert cookie["samesite"] == "Strict"


def test_cookies_are_lax_and_not_secure_in_development(api_client, settings):
    settings.AUTH_COOKIE_SECURE = False
    settings.AUTH_COOKIE_SAMESITE = "Lax"
    response = sign_in_by_otp(api_client)
    for name in ("access_token", "refresh_token", "csrf_token"):
        assert response.cookies[name]["samesite"] == "Lax"
        assert not response.cookies[name]["secure"]


def test_refresh_tokens_are_stored_hashed(api_client):
    tokens = sign_in_by_otp(api_client).json()["data"]["tokens"]
    assert not RefreshToken.objects.filter(token_hash=tokens["refreshToken"]).exists()
    assert RefreshToken.objects.count() == 1


def test_body_refresh_rotates_and_returns_tokens(api_client):
    tokens = sign_in_by_otp(api_client).json()["data"]["tokens"]
    client = APIClient()
    response = _refresh_body(client, tokens["refreshToken"])
    assert response.status_code == 200
    new = response.json()["data"]["tokens"]
    assert new["refreshToken"] != tokens["refreshToken"]
    assert new["expiresIn"] == 900
    assert "access_token" not in response.cookies
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new['accessToken']}")
    assert client.get(ME).status_code == 200
    old_row = RefreshToken.objects.exclude(rotated_at=None).get()
    assert old_row.replaced_by is not None


def test_cookie_refresh_answers_expires_in_only_and_sets_cookies(api_client):
    sign_in_by_otp(api_client)
    old_refresh = api_client.cookies["refresh_token"].value
    response = api_client.post(REFRESH, {}, format="json")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"expiresIn": 900}}
    assert response.cookies["refresh_token"].value != old_refresh
    assert response.cookies["access_token"].value
    assert response.cookies["csrf_token"].value


def test_refresh_with_disallowed_origin_is_403_and_sets_no_cookie(api_client):
    sign_in_by_otp(api_client)
    response = api_client.post(REFRESH, {}, format="json", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert response.json()["code"] == "origin_not_allowed"
    assert "access_token" not in response.cookies
    assert "refresh_token" not in response.cookies
    assert not RefreshToken.objects.exclude(rotated_at=None).exists()


def test_refresh_with_allowed_origin_and_no_csrf_header_passes(api_client):
    sign_in_by_otp(api_client)
    response = api_client.post(REFRESH, {}, format="json", HTTP_ORIGIN="http://localhost:3000")
    assert response.status_code == 200


def test_refresh_without_any_token_is_401(api_client):
    response = api_client.post(REFRESH, {}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_unknown_refresh_token_is_401_token_invalid(api_client):
    response = _refresh_body(api_client, "made-up")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_expired_refresh_token_is_401_token_expired(api_client):
    tokens = sign_in_by_otp(api_client).json()["data"]["tokens"]
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        response = _refresh_body(APIClient(), tokens["refreshToken"])
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


def test_reuse_within_interval_returns_a_valid_token_of_the_same_family(api_client):
    tokens = sign_in_by_otp(api_client).json()["data"]["tokens"]
    first = _refresh_body(APIClient(), tokens["refreshToken"])
    second = _refresh_body(APIClient(), tokens["refreshToken"])
    assert first.status_code == 200
    assert second.status_code == 200
    first_new = first.json()["data"]["tokens"]["refreshToken"]
    second_new = second.json()["data"]["tokens"]["refreshToken"]
    assert first_new != second_new
    assert AuthSession.objects.count() == 1
    # Both tabs keep working.
    assert _refresh_body(APIClient(), first_new).status_code == 200
    assert _refresh_body(APIClient(), second_new).status_code == 200


def test_replay_after_interval_revokes_the_family_and_its_access_tokens(api_client):
    tokens = sign_in_by_otp(api_client).json()["data"]["tokens"]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        rotated = _refresh_body(APIClient(), tokens["refreshToken"]).json()["data"]["tokens"]
    with time_machine.travel(start + timedelta(seconds=11), tick=False):
        replay = _refresh_body(APIClient(), tokens["refreshToken"])
        assert replay.status_code == 401
        assert replay.json()["code"] == "refresh_reuse_detected"
        # The legitimate holder's tokens are dead too.
        assert _refresh_body(APIClient(), rotated["refreshToken"]).json()["code"] == "session_revoked"
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {rotated['accessToken']}")
        me = client.get(ME)
    assert me.status_code == 401
    assert me.json()["code"] == "session_revoked"
    session = AuthSession.objects.get()
    assert session.revoked_reason == "refresh_reuse"
    assert AuditLog.objects.filter(action="auth.refresh_reuse", resource_id=str(session.pk)).exists()


def test_reuse_interval_is_configurable(api_client, settings):
    settings.REFRESH_REUSE_INTERVAL_SECONDS = 0
    tokens = sign_in_by_otp(api_client).json()["data"]["tokens"]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert _refresh_body(APIClient(), tokens["refreshToken"]).status_code == 200
    with time_machine.travel(start + timedelta(seconds=1), tick=False):
        assert _refresh_body(APIClient(), tokens["refreshToken"]).json()["code"] == "refresh_reuse_detected"


def test_refresh_of_a_suspended_user_is_refused(api_client):
    body = sign_in_by_otp(api_client).json()
    from accounts.models import User

    User.objects.filter(pk=body["user"]["id"]).update(is_active=False)
    response = _refresh_body(APIClient(), body["data"]["tokens"]["refreshToken"])
    assert response.status_code == 401
    assert response.json()["code"] == "account_suspended"


def test_session_keeps_its_mfa_state_across_refresh(admin_user):
    issued = session_start(now=timezone.now(), user=admin_user, mfa_completed=True)
    client = APIClient()
    new = _refresh_body(client, issued.refresh_token).json()["data"]["tokens"]
    from rest_framework_simplejwt.tokens import AccessToken

    assert AccessToken(new["accessToken"])["mfa"] is True
    assert AccessToken(new["accessToken"])["sid"] == str(issued.session.pk)
    assert AccessToken(new["accessToken"])["role"] == "admin"


# --- CSRF ---------------------------------------------------------------------------------------------


def test_cookie_post_without_csrf_header_is_403_csrf_failed(cookie_client_for):
    user = UserFactory()
    client = cookie_client_for(user, csrf_header=False)
    response = client.patch(ME, {"bio": "hello"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    user.refresh_from_db()
    assert user.bio == ""


def test_cookie_post_with_wrong_csrf_header_is_403(cookie_client_for):
    client = cookie_client_for(UserFactory(), csrf_header=False)
    client.credentials(HTTP_X_CSRF_TOKEN="not-the-cookie")
    assert client.patch(ME, {"bio": "x"}, format="json").json()["code"] == "csrf_failed"


def test_cookie_post_with_csrf_header_passes(cookie_client_for):
    client = cookie_client_for(UserFactory())
    response = client.patch(ME, {"bio": "hello"}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["bio"] == "hello"


def test_cookie_get_needs_no_csrf_header(cookie_client_for):
    assert cookie_client_for(UserFactory(), csrf_header=False).get(ME).status_code == 200


def test_bearer_post_without_csrf_header_passes(make_auth_client):
    client = make_auth_client(UserFactory())
    response = client.patch(ME, {"bio": "hello"}, format="json")
    assert response.status_code == 200


# --- logout -------------------------------------------------------------------------------------------


def test_logout_revokes_session_refuses_access_token_and_clears_cookies(api_client):
    body = sign_in_by_otp(api_client).json()
    access = body["data"]["tokens"]["accessToken"]
    response = api_client.post(LOGOUT, {}, format="json", HTTP_X_CSRF_TOKEN=api_client.cookies["csrf_token"].value)
    assert response.status_code == 200
    for name, path in (("access_token", "/"), ("refresh_token", "/api/v1/auth"), ("csrf_token", "/")):
        assert response.cookies[name].value == ""
        assert response.cookies[name]["max-age"] == 0
        assert response.cookies[name]["path"] == path
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    me = bearer.get(ME)
    assert me.status_code == 401
    assert me.json()["code"] == "session_revoked"
    assert _refresh_body(APIClient(), body["data"]["tokens"]["refreshToken"]).json()["code"] == "session_revoked"


def test_cookie_logout_without_csrf_header_is_refused(api_client):
    sign_in_by_otp(api_client)
    response = api_client.post(LOGOUT, {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert AuthSession.objects.live().count() == 1


def test_bearer_logout_all_devices_revokes_every_session(make_auth_client):
    user = UserFactory()
    phone = make_auth_client(user)
    laptop = make_auth_client(user)
    other = make_auth_client(UserFactory())
    assert phone.post(LOGOUT, {"allDevices": True}, format="json").status_code == 200
    assert laptop.get(ME).json()["code"] == "session_revoked"
    assert other.get(ME).status_code == 200


def test_logout_works_with_an_expired_access_token(make_auth_client):
    client = make_auth_client(UserFactory())
    with time_machine.travel(timezone.now() + timedelta(minutes=30)):
        assert client.post(LOGOUT, {}, format="json").status_code == 200
    assert AuthSession.objects.get(pk=client.session_id).revoked_at is not None


def test_logout_by_body_refresh_token(api_client):
    tokens = sign_in_by_otp(api_client).json()["data"]["tokens"]
    response = APIClient().post(LOGOUT, {"refreshToken": tokens["refreshToken"]}, format="json")
    assert response.status_code == 200
    assert AuthSession.objects.live().count() == 0


# --- concurrency (real threads, PostgreSQL) ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_the_same_token_both_succeed():
    assert connection.vendor == "postgresql"
    user = UserFactory()
    issued = session_start(now=timezone.now(), user=user)
    barrier = threading.Barrier(2)
    results = []

    def refresh():
        try:
            barrier.wait(timeout=5)
            response = APIClient().post(REFRESH, {"refreshToken": issued.refresh_token}, format="json")
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert [status for status, _ in results] == [200, 200]
    new_tokens = [body["data"]["tokens"] for _, body in results]
    assert new_tokens[0]["refreshToken"] != new_tokens[1]["refreshToken"]
    session = AuthSession.objects.get(pk=issued.session.pk)
    assert session.revoked_at is None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new_tokens[0]['accessToken']}")
    assert client.get(ME).status_code == 200
    # A replay after the interval still revokes the family, with its access tokens.
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        replay = APIClient().post(REFRESH, {"refreshToken": issued.refresh_token}, format="json")
        assert replay.status_code == 401
        assert replay.json()["code"] == "refresh_reuse_detected"
        assert client.get(ME).json()["code"] == "session_revoked"
    assert AuthSession.objects.get(pk=issued.session.pk).revoked_reason == "refresh_reuse"


def test_a_rotated_refresh_token_cannot_sign_anyone_out(api_client, make_auth_client):
    tokens = sign_in_by_otp(api_client).json()["data"]["tokens"]
    old_refresh = tokens["refreshToken"]
    assert _refresh_body(APIClient(), old_refresh).status_code == 200
    user = AuthSession.objects.get().user
    laptop = make_auth_client(user)

    response = APIClient().post(LOGOUT, {"refreshToken": old_refresh, "allDevices": True}, format="json")

    assert response.status_code == 200
    assert AuthSession.objects.filter(user=user).live().count() == 2
    assert laptop.get(ME).status_code == 200


def test_an_ended_session_cannot_end_the_others(make_auth_client):
    user = UserFactory()
    old_phone = make_auth_client(user)
    laptop = make_auth_client(user)
    assert old_phone.post(LOGOUT, {}, format="json").status_code == 200

    assert old_phone.post(LOGOUT, {"allDevices": True}, format="json").status_code == 200

    assert laptop.get(ME).status_code == 200
