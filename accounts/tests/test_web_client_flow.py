"""Replays the React web app's sign-in sequence (docs/web-client.md calls 1, 2, 5, 6, 7 and "Transport").

The app is cookie-only: no Authorization header anywhere. It sends the phone number in `email`, reads
`body.user` (or `body.data.user`), decides "signed in" by the readable `csrf_token` cookie, sends
`X-CSRF-Token` on every request made through its client, but posts `/auth/refresh` with `{}`, no CSRF header
and its Origin.
"""

import pytest
from rest_framework.test import APIClient

from accounts.tests.helpers import LOGOUT, ME, REFRESH, SEND, VERIFY, last_code

pytestmark = pytest.mark.django_db

ORIGIN = {"HTTP_ORIGIN": "http://localhost:3000"}


def _csrf_header(client):
    cookie = client.cookies.get("csrf_token")
    return {"HTTP_X_CSRF_TOKEN": cookie.value} if cookie is not None and cookie.value else {}


def test_web_app_login_sequence():
    browser = APIClient()

    # 1. send-otp: whatever was typed goes into `email`, even a phone number. Reads nothing.
    sent = browser.post(SEND, {"email": "9876501234"}, format="json", **ORIGIN)
    assert sent.status_code == 200

    # 2. verify-otp {email, otp}: reads body.user (falls back to body.data.user), then user.email, user.role,
    #    user.adminMetadata.permissions; the csrf_token cookie must be readable (not HttpOnly, Path /).
    verified = browser.post(VERIFY, {"email": "9876501234", "otp": last_code()}, format="json", **ORIGIN)
    assert verified.status_code == 200
    body = verified.json()
    user = body["user"]
    assert body["data"]["user"] == user
    assert user["role"] == "patient"
    assert "email" in user
    assert user["email"] is None
    assert user["phoneNumber"] == "+919876501234"
    assert isinstance(user["adminMetadata"]["permissions"], list)
    assert body["data"]["isNewUser"] is True
    csrf = verified.cookies["csrf_token"]
    assert csrf.value
    assert not csrf["httponly"]
    assert csrf["path"] == "/"
    assert verified.cookies["access_token"]["httponly"]

    # 3. GET /users/me by cookie only (plus the CSRF header the interceptor adds): reads body.data / body.user.
    me = browser.get(ME, **_csrf_header(browser), **ORIGIN)
    assert me.status_code == 200
    assert me.json()["data"]["role"] == "patient"
    assert me.json()["user"]["id"] == user["id"]
    assert "subscription" in me.json()["data"]

    # 4. refresh: bare axios.post with {}, no CSRF header; only the status and new cookies matter.
    old_access = browser.cookies["access_token"].value
    refreshed = browser.post(REFRESH, {}, format="json", **ORIGIN)
    assert refreshed.status_code == 200
    assert refreshed.json() == {"success": True, "data": {"expiresIn": 900}}
    assert browser.cookies["access_token"].value != old_access
    assert browser.get(ME, **_csrf_header(browser)).status_code == 200

    # 5. logout {} with the CSRF header: clears all three cookies, csrf_token included.
    logged_out = browser.post(LOGOUT, {}, format="json", **_csrf_header(browser), **ORIGIN)
    assert logged_out.status_code == 200
    for name in ("access_token", "refresh_token", "csrf_token"):
        assert logged_out.cookies[name].value == ""
        assert logged_out.cookies[name]["max-age"] == 0
    assert browser.cookies["csrf_token"].value == ""

    # The old access token is refused at once (a replay of the old cookie).
    replay = APIClient()
    replay.cookies["access_token"] = old_access
    assert replay.get(ME).status_code == 401


def test_expired_session_refresh_failure_is_a_401_and_clears_cookies():
    browser = APIClient()
    browser.post(SEND, {"email": "9876501234"}, format="json")
    browser.post(VERIFY, {"email": "9876501234", "otp": last_code()}, format="json")
    browser.post(LOGOUT, {}, format="json", **_csrf_header(browser))
    # A stale refresh cookie after logout: 401 (the app then redirects to /auth).
    browser.cookies["refresh_token"] = "stale"
    failed = browser.post(REFRESH, {}, format="json", **ORIGIN)
    assert failed.status_code == 401
    assert failed.cookies["csrf_token"].value == ""
