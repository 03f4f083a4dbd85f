"""The access log names the signed-in user (API token or Django admin session) and nobody else."""

import logging

import pytest
from django.contrib.auth.models import AnonymousUser


def _access_record(caplog):
    (record,) = [r for r in caplog.records if r.name == "manas360.access"]
    return record


@pytest.mark.django_db
def test_bearer_request_logs_the_user(auth_client, user, caplog):
    with caplog.at_level(logging.INFO, logger="manas360.access"):
        assert auth_client.get("/api/v1/users/me").status_code == 200
    assert _access_record(caplog).user_id == str(user.pk)


@pytest.mark.django_db
def test_admin_session_request_logs_the_user(client, admin_user, caplog):
    client.force_login(admin_user)
    with caplog.at_level(logging.INFO, logger="manas360.access"):
        client.get("/admin/")
    assert _access_record(caplog).user_id == str(admin_user.pk)


@pytest.mark.django_db
def test_anonymous_request_logs_no_user_and_never_loads_the_session_user(client, caplog, monkeypatch):
    loaded = []

    def spy(request):
        loaded.append(request.path)
        return AnonymousUser()

    monkeypatch.setattr("django.contrib.auth.middleware.auth.get_user", spy)
    with caplog.at_level(logging.INFO, logger="manas360.access"):
        assert client.get("/health").status_code == 200
    assert _access_record(caplog).user_id is None
    assert loaded == []
