"""The PostgreSQL health check without a round trip (manas360/postgresql) decides as Django's `SELECT 1` does."""

import time

import psycopg
import pytest
from django.db import connection, connections
from django.db.backends.postgresql.base import DatabaseWrapper as DjangoWrapper

pytestmark = pytest.mark.django_db(transaction=True)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _terminate(pid: int) -> None:
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.2)  # the termination message and the close reach our socket


def _django_check() -> bool:
    return DjangoWrapper.is_usable(connection)


def test_the_project_uses_the_backend():
    assert type(connections["default"]).__module__ == "manas360.postgresql.base"
    assert connection.vendor == "postgresql"


def test_a_healthy_idle_connection_is_usable_without_a_statement(monkeypatch):
    _backend_pid()
    assert connection.is_usable() is True
    assert _django_check() is True

    def no_statements(*args, **kwargs):
        raise AssertionError("the check must not run a statement")

    monkeypatch.setattr(connection.connection, "cursor", no_statements)
    assert connection.is_usable() is True


def test_a_connection_the_server_ended_is_unusable_and_replaced_before_the_next_statement():
    pid = _backend_pid()
    _terminate(pid)
    assert connection.is_usable() is False
    assert _django_check() is False  # the same verdict as Django's SELECT 1
    # What happens at the start of the next request: the health check runs before the first statement.
    connection.health_check_enabled = True
    connection.health_check_done = False
    assert _backend_pid() != pid


def test_a_closed_connection_is_unusable():
    _backend_pid()
    connection.connection.close()
    assert connection.is_usable() is False
    connection.close()  # let Django drop it, as its health check would
