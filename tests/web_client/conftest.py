"""The React web app as a client (docs/web-client.md "Transport"): cookies only, never an Authorization header.

`WebApp` is the app's axios instance (`frontend/utils/apiClient-unified.ts`): base `/api/v1`, `withCredentials`,
`Content-Type: application/json` on bodies, and an interceptor that adds `X-CSRF-Token: <csrf_token cookie>` to
every request (GET included) once the cookie exists. `refresh()` is the bare `axios.post` of the 401
interceptor ({} and no CSRF header); `open_window()` is `window.open` (cookies only, no header, no Origin).
Users sign in through the real endpoints, exactly as the app's screens do.
"""

import io
import json
import time

import pyotp
import pytest
from django.core.management import call_command
from django.test import Client

from accounts.tests.helpers import last_code

BASE = "/api/v1"
ORIGIN = "http://localhost:3000"  # the app's dev server (§2.1); in the default CORS allow-list
ADMIN_PASSWORD = "Web-admin-pass-1!"


class WebApp:
    def __init__(self):
        self.browser = Client(enforce_csrf_checks=True)  # Django's own CSRF is not what protects the API
        self.sent: list[dict] = []

    # --- what JS can see ----------------------------------------------------------------------------------
    def cookie(self, name: str) -> str:
        morsel = self.browser.cookies.get(name)
        return morsel.value if morsel is not None else ""

    def is_authenticated(self) -> bool:
        """The app's `isAuthenticated()`: the readable csrf_token cookie exists."""
        return bool(self.cookie("csrf_token"))

    # --- the axios instance -------------------------------------------------------------------------------
    def request(self, method: str, path: str, body=None, *, query: str = ""):
        headers = {"HTTP_ORIGIN": ORIGIN}
        csrf = self.cookie("csrf_token")
        if csrf:
            headers["HTTP_X_CSRF_TOKEN"] = csrf
        url = BASE + path + (f"?{query}" if query else "")
        kwargs = {}
        if body is not None:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        self.sent.append({"method": method, "url": url, "headers": dict(headers)})
        return getattr(self.browser, method.lower())(url, **kwargs, **headers)

    def get(self, path, *, query=""):
        return self.request("GET", path, query=query)

    def post(self, path, body=None):
        return self.request("POST", path, body)

    def put(self, path, body=None):
        return self.request("PUT", path, body)

    def patch(self, path, body=None):
        return self.request("PATCH", path, body)

    def delete(self, path):
        return self.request("DELETE", path)

    # --- the other two ways the app reaches the server ----------------------------------------------------
    def refresh(self):
        """apiClient-unified.ts 401 interceptor: `axios.post(base + '/auth/refresh', {})`, no CSRF header."""
        return self.browser.post(BASE + "/auth/refresh", data="{}", content_type="application/json", HTTP_ORIGIN=ORIGIN)

    def open_window(self, path, *, query=""):
        """`window.open(url)`: a top-level GET with cookies only."""
        return self.browser.get(BASE + path + (f"?{query}" if query else ""))

    # --- screens ------------------------------------------------------------------------------------------
    def otp_login(self, typed: str):
        """UniversalAuthPage: whatever was typed goes into `email`; then `{email, otp}`."""
        sent = self.post("/auth/send-otp", {"email": typed})
        assert sent.status_code == 200, sent.content
        verified = self.post("/auth/verify-otp", {"email": typed, "otp": last_code()})
        assert verified.status_code == 200, verified.content
        return verified


def assert_error_message(response, status: int, field: str = "message") -> dict:
    """The UI shows `response.data.message` (analytics: `response.data.error`): a non-empty string."""
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body[field], str)
    assert body[field]
    return body


def enrol_admin_mfa(app: WebApp) -> str:
    """AdminSettings: generate-secret `{}` then enable `{secret, mfaCode}`; returns the secret."""
    generated = app.post("/admin/mfa/generate-secret", {})
    assert generated.status_code == 200, generated.content
    secret = generated.json()["data"]["secret"]
    enabled = app.post("/admin/mfa/enable", {"secret": secret, "mfaCode": pyotp.TOTP(secret).now()})
    assert enabled.status_code == 200, enabled.content
    return secret


def next_totp(secret: str) -> str:
    """A code the server has not seen: the next 30 s step (inside the ±1 step window)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


@pytest.fixture
def reference_data(db):
    call_command("seed", stdout=io.StringIO())  # plans, themes, role grants (no demo accounts: DEBUG off)


@pytest.fixture
def web_app():
    return WebApp()


@pytest.fixture
def patient_app(db, reference_data):
    app = WebApp()
    app.otp_login("9876501234")
    return app


@pytest.fixture
def admin_account(db):
    from accounts.tests.factories import AdminFactory

    return AdminFactory(email="web-admin@manas360.test", password=ADMIN_PASSWORD)


@pytest.fixture
def admin_app(admin_account, reference_data):
    """An admin who signed in on /admin and enrolled MFA from Settings (the session is then MFA-complete)."""
    app = WebApp()
    login = app.post("/auth/admin-login", {"email": admin_account.email, "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.content
    app.totp_secret = enrol_admin_mfa(app)
    return app


from tests.e2e.conftest import phonepe  # noqa: E402, F401  (payment create needs a PhonePe: the simulator)
