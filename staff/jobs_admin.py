"""The job engine's admin on the staff site: procrastinate's job list (failed jobs, their attempts) with a filter of
ours, jobs running longer than their timeout (`manas360.jobs.jobs_running_too_long`, also /metrics
`jobs_running_too_long`), and its Retry / Cancel / Abort actions, each leaving one audit row per job it acted on
(`jobs.retry`, `jobs.cancel`, `jobs.abort`: who, from where, the job's status before and after).

procrastinate registers its own admin; this one replaces it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from procrastinate.contrib.django.admin import ProcrastinateJobAdmin
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.audit import audit_context_from_request, audit_log_record
from manas360.api.clock import request_now
from manas360.jobs import jobs_running_too_long

Action = Callable[..., Any]  # a ModelAdmin action: (model_admin, request, queryset)


class RunningTooLongFilter(admin.SimpleListFilter):
    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [("running_too_long", "Running longer than its timeout")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ProcrastinateJob]) -> QuerySet[ProcrastinateJob]:
        if self.value() == "running_too_long":
            return queryset.filter(pk__in=[job.id for job in jobs_running_too_long(now=request_now(request))])
        return queryset


# What an action changes: the status, or for a running job the request to abort it (its worker stops it).
_STATE_FIELDS = ("status", "abort_requested")


def _states(jobs: QuerySet[ProcrastinateJob]) -> dict[int, tuple[Any, ...]]:
    return {job_id: tuple(rest) for job_id, *rest in jobs.values_list("id", "task_name", *_STATE_FIELDS)}


def _audited(name: str, action: Action) -> Action:
    """procrastinate's `action`, then one `jobs.<name>` audit row per job it changed (status or abort request)."""

    @admin.action(description=getattr(action, "short_description", name.title()))
    def audited(model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[ProcrastinateJob]) -> None:
        before = _states(queryset)
        action(model_admin, request, queryset)
        after = _states(ProcrastinateJob.objects.filter(id__in=before))
        context = audit_context_from_request(request)
        for job_id, (task, *state) in before.items():
            was = tuple(state)
            now_is = after[job_id][1:]
            if now_is == was:
                continue  # the action does not apply to a job in that state: nothing happened to it
            audit_log_record(
                action=f"jobs.{name}",
                actor=request.user,  # type: ignore[arg-type]  # the staff site signs in Users only
                resource_type="job",
                resource_id=job_id,
                before={"task": task, **dict(zip(_STATE_FIELDS, was, strict=True))},
                after=dict(zip(_STATE_FIELDS, now_is, strict=True)),
                **context,
            )

    audited.__name__ = name
    return audited


class JobAdmin(ProcrastinateJobAdmin):
    list_filter = [RunningTooLongFilter, *ProcrastinateJobAdmin.list_filter]
    actions = [
        _audited("retry", ProcrastinateJobAdmin.retry),
        _audited("cancel", ProcrastinateJobAdmin.cancel),
        _audited("abort", ProcrastinateJobAdmin.abort),
    ]


if admin.site.is_registered(ProcrastinateJob):
    admin.site.unregister(ProcrastinateJob)
admin.site.register(ProcrastinateJob, JobAdmin)
