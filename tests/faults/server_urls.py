"""Test-only views for servers started by the fault and multi-instance tests.

They exercise the real plumbing (middleware, DRF, exception handler, database
connection settings) with behaviour a test can time: a write in two steps with
a pause in between, a slow request, and a look at the database session.
"""

from django.db import connection, transaction
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_log_record


def _pause(seconds: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [seconds])


class DatabaseSessionView(APIView):
    """Which PostgreSQL backend served this request, and with which statement timeout."""

    permission_classes = [AllowAny]

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), current_setting('statement_timeout')")
            backend_pid, statement_timeout = cursor.fetchone()
        return Response({"backend_pid": backend_pid, "statement_timeout": statement_timeout})


class TwoStepWriteView(APIView):
    """Writes one audit row, pauses `pause` seconds in the database, writes a second: all or nothing."""

    permission_classes = [AllowAny]

    def post(self, request):
        marker = str(request.data["marker"])
        with transaction.atomic():
            audit_log_record(action="test.step_one", resource_type="fault_test", resource_id=marker)
            _pause(float(request.data.get("pause", 0)))
            audit_log_record(action="test.step_two", resource_type="fault_test", resource_id=marker)
        return Response({"marker": marker}, status=201)


class SlowView(APIView):
    """Sleeps in the database for `seconds`, then records `marker`: a slow request with a write at its end."""

    permission_classes = [AllowAny]

    def get(self, request):
        marker = request.query_params.get("marker", "")
        _pause(float(request.query_params.get("seconds", "1")))
        audit_log_record(action="test.slow_done", resource_type="fault_test", resource_id=marker)
        return Response({"marker": marker})


class WhoAmIView(APIView):
    """Default authentication and permission: the caller's id."""

    def get(self, request):
        return Response({"id": str(request.user.pk)})


urlpatterns = [
    path("api/v1/_test/db-session", DatabaseSessionView.as_view()),
    path("api/v1/_test/two-step-write", TwoStepWriteView.as_view()),
    path("api/v1/_test/slow", SlowView.as_view()),
    path("api/v1/_test/whoami", WhoAmIView.as_view()),
    path("", include("manas360.urls")),
]
