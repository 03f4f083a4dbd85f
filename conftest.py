"""Fixtures shared by every app's tests (style.md: api_client, user, auth_client, admin_client)."""

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import AdminFactory, UserFactory
from accounts.tokens import issue_access_token


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Rate limits and cooldowns live in the cache: every test starts from an empty one."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def make_auth_client():
    """Build a Bearer-authenticated client for any user: `make_auth_client(user)`."""

    def build(for_user, *, mfa_verified=False):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_access_token(user=for_user, mfa_verified=mfa_verified)}")
        client.user = for_user
        return client

    return build


@pytest.fixture
def auth_client(user, make_auth_client):
    return make_auth_client(user)


@pytest.fixture
def admin_user(db):
    return AdminFactory()


@pytest.fixture
def admin_client(admin_user, make_auth_client):
    """An admin whose session has completed its MFA step."""
    return make_auth_client(admin_user, mfa_verified=True)
