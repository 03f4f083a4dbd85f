"""accounts.permissions: IsAdminWithMfa and HasPermission, on a throw-away view."""

import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasPermission, IsAdminWithMfa
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class AdminOnly(APIView):
    permission_classes = [IsAdminWithMfa]

    def get(self, request):
        return Response({"ok": True})


class AnalyticsOnly(APIView):
    permission_classes = [HasPermission("view_analytics")]

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("api/v1/probe/admin", AdminOnly.as_view()),
    path("api/v1/probe/analytics", AnalyticsOnly.as_view()),
]


@pytest.fixture(autouse=True)
def _probe_urls(settings):
    settings.ROOT_URLCONF = __name__


@pytest.mark.parametrize("url", ["/api/v1/probe/admin", "/api/v1/probe/analytics"])
def test_admin_with_mfa_passes(admin_client, url):
    assert admin_client.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/api/v1/probe/admin", "/api/v1/probe/analytics"])
def test_admin_without_mfa_is_403_admin_mfa_required(make_auth_client, admin_user, url):
    response = make_auth_client(admin_user, mfa_verified=False).get(url)
    assert response.status_code == 403
    assert response.json()["code"] == "admin_mfa_required"


@pytest.mark.parametrize("url", ["/api/v1/probe/admin", "/api/v1/probe/analytics"])
def test_patient_is_403_permission_denied(auth_client, url):
    response = auth_client.get(url)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("url", ["/api/v1/probe/admin", "/api/v1/probe/analytics"])
def test_anonymous_is_401(api_client, url):
    assert api_client.get(url).status_code == 401


def test_has_permission_follows_the_role_table(make_auth_client):
    from accounts.models import RolePermission
    from accounts.roles import clear_role_permission_cache

    corporate = UserFactory(role="corporate")
    client = make_auth_client(corporate)
    assert client.get("/api/v1/probe/analytics").status_code == 403
    RolePermission.objects.create(role="corporate", permission="view_analytics")
    clear_role_permission_cache()
    assert client.get("/api/v1/probe/analytics").status_code == 200
