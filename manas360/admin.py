"""The job engine's admin: procrastinate's read-only job list (failed jobs, their attempts) on the staff site,
with one filter of ours: jobs running longer than their timeout (`manas360.jobs.jobs_running_too_long`, also
/metrics `jobs_running_too_long`).

procrastinate registers its own admin; ours replaces it to add the filter.
"""

from django.contrib import admin
from django.utils import timezone
from procrastinate.contrib.django.admin import ProcrastinateJobAdmin
from procrastinate.contrib.django.models import ProcrastinateJob

from manas360.jobs import jobs_running_too_long


class RunningTooLongFilter(admin.SimpleListFilter):
    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [("running_too_long", "Running longer than its timeout")]

    def queryset(self, request, queryset):
        if self.value() == "running_too_long":
            return queryset.filter(pk__in=[job.id for job in jobs_running_too_long(now=timezone.now())])
        return queryset


class JobAdmin(ProcrastinateJobAdmin):
    list_filter = [RunningTooLongFilter, *ProcrastinateJobAdmin.list_filter]


if admin.site.is_registered(ProcrastinateJob):
    admin.site.unregister(ProcrastinateJob)
admin.site.register(ProcrastinateJob, JobAdmin)
