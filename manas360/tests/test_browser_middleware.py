"""Django sessions, the session user and messages serve the admin only; API, health and metrics skip them."""

import pytest
from django.test import RequestFactory

from manas360.middleware import BrowserAuthenticationMiddleware, BrowserMessageMiddleware, BrowserSessionMiddleware


def _through_middlewares(path):
    seen = {}

    def view(request):
        from django.http import HttpResponse

        seen.update(
            session=hasattr(request, "session"), user=hasattr(request, "user"), messages=hasattr(request, "_messages")
        )
        return HttpResponse("ok")

    chain = BrowserSessionMiddleware(BrowserAuthenticationMiddleware(BrowserMessageMiddleware(view)))
    response = chain(RequestFactory().get(path))
    return seen, response


@pytest.mark.parametrize("path", ["/api/v1/users/me", "/health", "/health/ready", "/metrics"])
def test_api_health_and_metrics_get_no_session_user_or_messages(path):
    seen, response = _through_middlewares(path)
    assert seen == {"session": False, "user": False, "messages": False}
    assert "sessionid" not in response.cookies


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/"])
def test_browser_paths_keep_django_sessions_users_and_messages(path):
    seen, _ = _through_middlewares(path)
    assert seen == {"session": True, "user": True, "messages": True}


@pytest.mark.django_db
def test_a_django_login_session_does_not_authenticate_the_api(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/api/v1/users/me").status_code == 401
