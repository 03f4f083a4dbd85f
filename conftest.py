"""Fixtures shared by every app's tests (docs/contributing.md: api_client, user, auth_client, admin_client).

Tokens are issued through the real session service (`accounts.sessions.session_start`): every
authenticated client has a real AuthSession row, so revocation, suspension and MFA state behave
exactly as in production.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import AdminFactory, UserFactory

# `job_engine`: run jobs through a real worker; `buyer`: a patient with a signed-in client for real checkouts.
pytest_plugins = ["tests.jobs.engine", "payments.tests.checkout"]

_started_servers: list = []


def pytest_configure(config):
    """Plain `pytest` needs nothing set: without DATABASE_URL (or TEST_REDIS_URL) the run starts a throw-away
    PostgreSQL from the project's wheel (and a redis-server) for itself and stops them at the end, exactly as
    scripts/test.sh does. Settings are already loaded here, but no connection is open yet: the database settings
    are pointed at the new server in place, and the environment carries it to the servers tests start."""
    from django.conf import settings
    from django.db import connection

    from manas360 import devservers

    os.environ.setdefault("TESTING", "1")
    if not os.environ.get("DATABASE_URL") or not os.environ.get("TEST_REDIS_URL"):
        workdir = Path(tempfile.mkdtemp(prefix="manas360-pytest-"))
        workdir.chmod(0o755)
        _started_servers.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
        try:
            if not os.environ.get("DATABASE_URL"):
                cluster = devservers.start_throwaway(workdir / "pg")
                _started_servers.append(cluster.stop)
                os.environ.update(cluster.environment())
                settings.DATABASES["default"].update(
                    {"NAME": devservers.DB_NAME, "USER": devservers.SUPERUSER, "PASSWORD": ""}
                    | {"HOST": "127.0.0.1", "PORT": str(cluster.port)}
                )
            if not os.environ.get("TEST_REDIS_URL"):
                redis = devservers.Redis(workdir)
                _started_servers.append(redis.stop)
                os.environ.update(
                    TEST_REDIS_URL=redis.url, TEST_REDIS_PORT=str(redis.port), TEST_REDIS_PID=str(redis.process.pid)
                )
        except (devservers.DevServerError, OSError) as error:
            pytest_unconfigure(config)
            raise pytest.UsageError(f"Could not start the test servers: {error}") from None
    if connection.vendor != "postgresql":
        raise pytest.UsageError(
            f"The tests run on PostgreSQL only (this database is {connection.vendor}): unset DATABASE_URL to use "
            "the project's own PostgreSQL, or point it at a postgres://user:pass@host:5432/db server."
        )


def pytest_unconfigure(config):
    while _started_servers:
        _started_servers.pop()()


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Rate limits and cooldowns live in the cache: every test starts from an empty one."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def redis_cache(settings):
    """The cache on the test run's real Redis (TEST_REDIS_URL), for what behaves differently there."""
    from django.core.cache import cache

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["TEST_REDIS_URL"]}
    }
    cache.clear()
    yield cache
    cache.clear()


@pytest.fixture(autouse=True)
def _otp_outbox():
    """The capturing OTP channel's outbox (accounts.otp_delivery.outbox) starts empty in every test."""
    from accounts import otp_delivery

    otp_delivery.outbox.clear()
    yield otp_delivery.outbox
    otp_delivery.outbox.clear()


@pytest.fixture(autouse=True)
def _role_permissions_seeded(request):
    """Role grants come from a data migration; transactional tests flush them, so put them back."""
    from accounts.roles import clear_role_permission_cache

    clear_role_permission_cache()
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in names or (marker is not None and marker.kwargs.get("transaction"))
    if transactional:
        request.getfixturevalue("transactional_db")
    elif "db" in names or marker is not None:
        request.getfixturevalue("db")
    else:
        yield
        return
    from accounts.seed import role_permissions_seed

    role_permissions_seed()
    yield
    clear_role_permission_cache()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def make_auth_client():
    """Build a Bearer-authenticated client for any user: `make_auth_client(user)`.

    `mfa_verified=True` makes the session's MFA step complete (needed by admins for /admin/*).
    `client.session_id` is the AuthSession id; `client.tokens` the issued tokens.
    """
    from accounts.sessions import session_start

    def build(for_user, *, mfa_verified=False):
        issued = session_start(now=timezone.now(), user=for_user, mfa_completed=mfa_verified)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.access_token}")
        client.user = for_user
        client.session_id = issued.session.pk
        client.tokens = issued
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


@pytest.fixture
def cookie_client_for(db):
    """Like the web app: cookies only (access_token, refresh_token, csrf_token) and `X-CSRF-Token`.

    `cookie_client_for(user, mfa_verified=False, csrf_header=True)`. The client sends the CSRF header
    on every request (as the web app's axios interceptor does); pass `csrf_header=False` to leave it off.
    """
    from accounts.cookies import ACCESS_COOKIE_PATH, REFRESH_COOKIE_PATH
    from accounts.sessions import session_start

    def build(for_user, *, mfa_verified=False, csrf_header=True):
        issued = session_start(now=timezone.now(), user=for_user, mfa_completed=mfa_verified)
        client = APIClient()
        client.cookies["access_token"] = issued.access_token
        client.cookies["access_token"]["path"] = ACCESS_COOKIE_PATH
        client.cookies["refresh_token"] = issued.refresh_token
        client.cookies["refresh_token"]["path"] = REFRESH_COOKIE_PATH
        client.cookies["csrf_token"] = issued.csrf_token
        client.cookies["csrf_token"]["path"] = "/"
        if csrf_header:
            client.credentials(HTTP_X_CSRF_TOKEN=issued.csrf_token)
        client.user = for_user
        client.session_id = issued.session.pk
        client.tokens = issued
        return client

    return build
