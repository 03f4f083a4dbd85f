"""/metrics reports background jobs: run, failed and retried per task, and queue lag (docs/jobs.md)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from payments import tasks as payment_tasks
from payments.models import Payment, PaymentStatus
from payments.tests.factories import PaymentFactory
from rooms.tasks import close_abandoned_sessions

pytestmark = pytest.mark.django_db(transaction=True)


def _samples(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name.startswith("jobs_"):
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_count_runs_retries_failures_and_queue_lag(client, job_engine, simulator, plans):
    before = _samples(client)
    assert before[("jobs_metrics_up", ())] == 1
    assert not [key for key in before if key[0] == "jobs_run_last_hour"]

    close_abandoned_sessions.defer(timestamp=1)
    close_abandoned_sessions.defer(timestamp=2)
    job_engine.run()

    # A job whose gateway is down: retried with back-off until it fails for good.
    payment = PaymentFactory(plan=plans["premium_monthly"], status=PaymentStatus.PENDING)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() + timedelta(hours=1))
    simulator.post("/simulator/faults", {"operation": "order_status", "status": 503, "count": 1000})
    payment_tasks.defer_reconcile(payment)
    for _ in range(20):
        job_engine.run()
        statuses = job_engine.statuses("payments.reconcile_payment")
        if statuses == ["failed"]:
            break
        with connection.cursor() as cursor:  # skip the back-off wait
            cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
    assert statuses == ["failed"]

    # A job nobody has picked up for a minute.
    close_abandoned_sessions.defer(timestamp=3)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_events SET at = now() - interval '60 seconds'"
            " WHERE type = 'deferred' AND job_id = (SELECT max(id) FROM procrastinate_jobs)"
        )

    after = _samples(client)
    rooms = (("task", "rooms.close_abandoned_sessions"),)
    reconcile = (("task", "payments.reconcile_payment"),)
    retries = 8  # JOBS_GATEWAY_RETRIES
    assert after[("jobs_run_last_hour", rooms)] == 2
    assert after[("jobs_run_last_hour", reconcile)] == retries + 1
    assert after[("jobs_retried_last_hour", reconcile)] == retries
    assert after[("jobs_failed_last_hour", reconcile)] == 1
    assert after[("jobs_failed", reconcile)] == 1
    assert ("jobs_failed", rooms) not in after
    assert after[("jobs_waiting", (("queue", "default"),))] == 1
    assert 59 <= after[("jobs_queue_lag_seconds", (("queue", "default"),))] < 120


def test_metrics_still_render_while_the_database_is_stopped(client, job_engine, postgres_control):
    postgres_control.stop()
    response = client.get("/metrics")
    assert response.status_code == 200
    body = response.content.decode()
    assert "jobs_metrics_up 0.0" in body
    assert "jobs_queue_lag_seconds" not in body
    assert "http_requests_total" in body  # the rest of /metrics is unaffected
