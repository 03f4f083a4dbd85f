"""The job engine's admin: procrastinate's read-only job list (failed jobs, their attempts) on the staff site.

procrastinate registers it itself. Without PostgreSQL (the SQLite default of `make run`) its tables do
not exist, so the page would only fail: it is taken off the site there.
"""

from django.conf import settings
from django.contrib import admin
from procrastinate.contrib.django.models import ProcrastinateJob

if not settings.JOBS_DATABASE_IS_POSTGRESQL and admin.site.is_registered(ProcrastinateJob):
    admin.site.unregister(ProcrastinateJob)
