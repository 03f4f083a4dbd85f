"""What the jobs should have moved by now, on /metrics and in the admin (docs/jobs.md "Observability"):
jobs running longer than their timeout, payments pending past their order's expiry, renewals past
their step's deadline."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import AuditLog
from autopay.models import Mandate, MandateState, Renewal, RenewalState
from payments import tasks as payment_tasks
from payments.models import Payment, PaymentStatus
from payments.tests.factories import PaymentFactory
from rooms.tasks import close_abandoned_sessions
from staff.tests.helpers import staff_admin_client

pytestmark = pytest.mark.django_db(transaction=True)


def _samples(client, prefix: str) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.name.startswith(prefix)
    }


def _make_doing(job_id: int, *, started_ago: timedelta) -> None:
    """As a worker leaves a job it started `started_ago` and never finished (hung, or jammed)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", [job_id])
        cursor.execute(
            "UPDATE procrastinate_events SET at = now() - %s WHERE job_id = %s AND type = 'started'",
            [started_ago, job_id],
        )


def _last_job_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM procrastinate_jobs")
        return cursor.fetchone()[0]


def test_jobs_running_longer_than_their_timeout(client, job_engine, settings):
    settings.JOBS_TIMEOUT_SECONDS = 600
    settings.JOBS_TIMEOUTS = {"rooms.close_abandoned_sessions": 3600}
    close_abandoned_sessions.defer(timestamp=1)
    long_but_allowed = _last_job_id()
    _make_doing(long_but_allowed, started_ago=timedelta(minutes=30))  # its own timeout is an hour
    payment_tasks.reconcile_payment.defer(payment_id=str(uuid.uuid4()))
    stuck = _last_job_id()
    _make_doing(stuck, started_ago=timedelta(minutes=11))  # the default timeout is 10 minutes
    payment_tasks.reconcile_payment.defer(payment_id=str(uuid.uuid4()))
    _make_doing(_last_job_id(), started_ago=timedelta(seconds=5))

    samples = _samples(client, "jobs_running")
    assert samples[("jobs_running_too_long", (("task", "payments.reconcile_payment"),))] == 1
    assert samples[("jobs_running_too_long", (("task", "rooms.close_abandoned_sessions"),))] == 0
    assert samples[("jobs_running_longest_seconds", (("task", "payments.reconcile_payment"),))] >= 660

    admin = staff_admin_client()
    page = admin.get("/admin/procrastinate/procrastinatejob/?stuck=running_too_long")
    assert page.status_code == 200
    listed = list(page.context["cl"].result_list)
    assert [job.id for job in listed] == [stuck]
    everything = admin.get("/admin/procrastinate/procrastinatejob/")
    assert len(everything.context["cl"].result_list) == 3  # without the filter: all of them


def test_payments_pending_past_their_orders_expiry(client, plans, settings):
    settings.JOBS_OVERDUE_AFTER_MINUTES = 15
    now = timezone.now()
    overdue = PaymentFactory(plan=plans["premium_monthly"], status=PaymentStatus.PENDING)
    just_expired = PaymentFactory(plan=plans["premium_monthly"], status=PaymentStatus.PENDING)
    settled = PaymentFactory(plan=plans["premium_monthly"], status=PaymentStatus.FAILED)
    Payment.objects.filter(pk__in=[overdue.pk, settled.pk]).update(expires_at=now - timedelta(hours=1))
    Payment.objects.filter(pk=just_expired.pk).update(expires_at=now - timedelta(minutes=5))
    PaymentFactory(plan=plans["premium_monthly"], status=PaymentStatus.PENDING)  # no expiry known

    assert _samples(client, "payments_pending")[("payments_pending_past_expiry", ())] == 1
    page = staff_admin_client().get("/admin/payments/payment/?overdue=pending_past_expiry")
    assert page.status_code == 200
    assert [payment.pk for payment in page.context["cl"].result_list] == [overdue.pk]


def _renewal(mandate, state: str, cycle: int, **fields) -> Renewal:
    return Renewal.objects.create(
        mandate=mandate,
        cycle=cycle,
        merchant_order_id=f"M360R_{uuid.uuid4().hex}",
        amount_paise=29900,
        period_start=timezone.now(),
        state=state,
        **fields,
    )


def test_renewals_past_their_deadline(client, plans, settings):
    settings.JOBS_OVERDUE_AFTER_MINUTES = 15
    now = timezone.now()
    mandates = []
    for _ in range(5):
        setup = PaymentFactory(plan=plans["premium_monthly"], status=PaymentStatus.SUCCESS)
        mandates.append(
            Mandate.objects.create(
                user=setup.user,
                plan=plans["premium_monthly"],
                setup_payment=setup,
                merchant_subscription_id=f"M360S_{uuid.uuid4().hex}",
                state=MandateState.ACTIVE,
                frequency="MONTHLY",
                amount_paise=29900,
                max_amount_paise=29900,
                expires_at=now + timedelta(days=365),
            )
        )
    late_notice = _renewal(mandates[0], RenewalState.NOTIFIED, 1, debit_after=now - timedelta(hours=1))
    _renewal(mandates[1], RenewalState.NOTIFIED, 1, debit_after=now + timedelta(hours=10))  # debit not due yet
    late_debit = _renewal(mandates[2], RenewalState.DEBITING, 1, debited_at=now - timedelta(hours=50))
    _renewal(mandates[3], RenewalState.DEBITING, 1, debited_at=now - timedelta(hours=30))  # PhonePe still retrying
    _renewal(mandates[4], RenewalState.FAILED, 1, debited_at=now - timedelta(hours=60))  # settled
    stuck_schedule = _renewal(mandates[4], RenewalState.SCHEDULED, 2)
    Renewal.objects.filter(pk=stuck_schedule.pk).update(created_at=now - timedelta(hours=2))

    samples = _samples(client, "renewals_past_deadline")
    assert samples == {
        ("renewals_past_deadline", (("state", "scheduled"),)): 1,
        ("renewals_past_deadline", (("state", "notified"),)): 1,
        ("renewals_past_deadline", (("state", "debiting"),)): 1,
    }
    page = staff_admin_client().get("/admin/autopay/renewal/?overdue=past_deadline")
    assert page.status_code == 200
    listed = {renewal.pk for renewal in page.context["cl"].result_list}
    assert listed == {late_notice.pk, late_debit.pk, stuck_schedule.pk}


def test_staff_actions_on_jobs_are_audited_per_job_they_changed(job_engine):
    payment_tasks.reconcile_payment.defer(payment_id=str(uuid.uuid4()))
    waiting = _last_job_id()
    payment_tasks.reconcile_payment.defer(payment_id=str(uuid.uuid4()))
    running = _last_job_id()
    _make_doing(running, started_ago=timedelta(minutes=1))
    admin = staff_admin_client()
    changelist = "/admin/procrastinate/procrastinatejob/"

    # Cancel applies to waiting jobs only: the running one is untouched and gets no audit row.
    response = admin.post(changelist, {"action": "cancel", "_selected_action": [waiting, running]})
    assert response.status_code == 302
    assert _status(waiting) == "cancelled"
    assert _status(running) == "doing"
    (cancelled,) = AuditLog.objects.filter(action="jobs.cancel")
    assert cancelled.resource_type == "job"
    assert cancelled.resource_id == str(waiting)
    assert cancelled.actor_id == admin.user.pk
    assert cancelled.changes == {
        "before": {"task": "payments.reconcile_payment", "status": "todo", "abort_requested": False},
        "after": {"status": "cancelled", "abort_requested": False},
    }

    # Abort of a running job asks its worker to stop it: the request is what changed, and what is audited.
    admin.post(changelist, {"action": "abort", "_selected_action": [running]})
    (aborted,) = AuditLog.objects.filter(action="jobs.abort")
    assert aborted.resource_id == str(running)
    assert aborted.changes["before"] == {
        "task": "payments.reconcile_payment",
        "status": "doing",
        "abort_requested": False,
    }
    assert aborted.changes["after"] == {"status": "doing", "abort_requested": True}


def _status(job_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status::text FROM procrastinate_jobs WHERE id = %s", [job_id])
        return cursor.fetchone()[0]
