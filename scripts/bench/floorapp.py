"""The framework floor for `make benchmark`: the least work a Django + DRF endpoint can do on this machine.

Not part of the service. No middleware, no authentication, no throttling, no envelope or camelCase work: the
fastest answer Django and DRF can give, measured in the same run as our endpoints so that the noise of a shared
machine and the speed of the machine cancel out of the ratio (docs/performance.md).

    /hello   a plain Django JsonResponse
    /drf     the same body through a DRF APIView and its JSON renderer
    /rows    20 rows of a `rooms` table (id, name, category, description) through a DRF APIView

Database: PostgreSQL, name from FLOOR_DB (default `floor`), connection from the usual PG* variables; the
benchmark creates the table and its 20 rows (scripts/benchmark.py). Served by one sync gunicorn worker, as when
the targets were set (`gunicorn --chdir scripts/bench floorapp:application`, gunicorn from
scripts/bench/requirements.txt), or with `--floor-server granian` by
`python -m granian --interface wsgi --working-dir scripts/bench floorapp:application`.
"""

import os

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="benchmark-floor-only",  # noqa: S106 - serves no user and signs nothing
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    MIDDLEWARE=[],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("FLOOR_DB", "floor"),
            "CONN_MAX_AGE": 600,
        }
    },
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "UNAUTHENTICATED_USER": None,
    },
)

import django  # noqa: E402 - settings first

django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

BODY = {"success": True, "data": {"ok": True}}
ROWS_SQL = "SELECT id, name, category, description FROM rooms ORDER BY id LIMIT 20"


def hello(request):
    return JsonResponse(BODY)


class Hello(APIView):
    def get(self, request):
        return Response(BODY)


class Rows(APIView):
    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute(ROWS_SQL)
            names = [column[0] for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return Response({"success": True, "data": rows})


urlpatterns = [path("hello", hello), path("drf", Hello.as_view()), path("rows", Rows.as_view())]
application = get_wsgi_application()
