"""What the job engine guarantees, with real worker processes on the real PostgreSQL (docs/jobs.md).

* two workers: a periodic job runs once per tick;
* a worker SIGKILLed in the middle of a refund: the job runs again on another worker and
  nothing is done twice (one refund at PhonePe, one completion, one subscription end);
* PostgreSQL restarted under a running worker: the same process carries on;
* a failing job is retried with back-off, then `failed` (and listed in the admin).
"""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuditLog
from payments import tasks as payment_tasks
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.phonepe.simulator.handler import SimulatorHandler
from payments.tests.factories import PaymentFactory
from rooms.models import RoomSession, RoomSessionStatus
from rooms.tasks import close_abandoned_sessions
from rooms.tests.factories import RoomSessionFactory
from staff.tests.helpers import staff_admin_client
from subscriptions.selectors import subscription_get_active
from subscriptions.tests.factories import GrantedSubscriptionFactory
from tests.jobs.workers import job_rows, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _events(job_id: int) -> list[tuple[str, float]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type::text, extract(epoch FROM at) FROM procrastinate_events WHERE job_id = %s ORDER BY id",
            [job_id],
        )
        return [(kind, float(at)) for kind, at in cursor.fetchall()]


def test_two_workers_run_a_periodic_job_once_per_tick(job_workers):
    every_second = {"rooms.close_abandoned_sessions": "* * * * * *"}
    workers = job_workers.start(2, schedules=every_second)
    RoomSessionFactory(started_at=timezone.now() - timedelta(days=1))

    wait_for(
        lambda: len([j for j in job_rows("rooms.close_abandoned_sessions") if j["status"] == "succeeded"]) >= 4,
        timeout=20,
        message="4 ticks run",
        workers=workers,
    )
    assert all(worker.is_running() for worker in workers)  # both scheduling the whole time
    assert [worker.stop() for worker in workers] == [0, 0]  # SIGTERM: a clean stop

    rows = job_rows("rooms.close_abandoned_sessions")
    per_tick = Counter(row["args"]["timestamp"] for row in rows)
    assert len(per_tick) >= 4
    assert set(per_tick.values()) == {1}, per_tick  # both workers deferred every tick; one job each
    assert all(row["status"] == "succeeded" for row in rows)
    assert RoomSession.objects.get().status == RoomSessionStatus.ABANDONED


@pytest.fixture
def held_refunds(monkeypatch):
    """The simulator takes the first refund request, then holds its answer until released."""
    arrived, release = threading.Event(), threading.Event()
    original = SimulatorHandler._refund

    def refund(handler, *, query):
        if arrived.is_set():
            return original(handler, query=query)

        def send_after_release(status, body, headers=None):
            arrived.set()
            release.wait(30)  # the worker is killed meanwhile: nobody reads this answer

        handler._send_json = send_after_release
        return original(handler, query=query)

    monkeypatch.setattr(SimulatorHandler, "_refund", refund)
    yield arrived, release
    release.set()


def test_worker_killed_mid_refund_is_finished_elsewhere_without_a_second_refund(
    job_workers, simulator, held_refunds, plans
):
    arrived, release = held_refunds
    simulator.server.state.config["refund_auto_complete_seconds"] = 0
    gateway = {
        "PHONEPE_PG_BASE_URL": simulator.server.pg_base_url,
        "PHONEPE_OAUTH_BASE_URL": simulator.server.pg_base_url,
        "PHONEPE_MAX_RETRIES": "0",
    }
    # A paid order at the gateway and here, with the subscription it granted.
    payment = PaymentFactory(plan=plans["premium_monthly"], status=PaymentStatus.PENDING)
    order = simulator.server.state
    simulator.order_for(payment)
    assert GrantedSubscriptionFactory(user=payment.user, plan=plans["premium_monthly"], payment=payment) is not None
    with transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.SUCCESS)
        refund = Refund.objects.create(
            payment=payment, merchant_refund_id="R360_killed_1", amount_paise=payment.amount_paise
        )
        payment_tasks.defer_refund(refund)

    (first,) = job_workers.start(1, env=gateway)
    assert arrived.wait(20), first.log_tail()
    first.kill()  # PhonePe has the refund; the worker never learnt it
    release.set()
    assert list(order.refunds) == ["R360_killed_1"]
    (job,) = job_rows("payments.finish_refund")
    assert job["status"] == "doing"  # left behind by the dead worker

    (second,) = job_workers.start(1, env=gateway, schedules={"manas360.retry_stalled_jobs": "* * * * * *"})
    wait_for(
        lambda: job_rows("payments.finish_refund")[0]["status"] == "succeeded",
        timeout=30,
        message="the stalled refund job re-run",
        workers=[second],
    )

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED
    assert payment.status == PaymentStatus.REFUNDED
    assert subscription_get_active(now=timezone.now(), user=payment.user) is None  # the refunded period is taken back
    # Nothing twice: one refund request reached PhonePe, one completion was recorded.
    posts = [r for r in order.requests if r["method"] == "POST" and r["path"].endswith("/payments/v2/refund")]
    assert len(posts) == 1
    assert list(order.refunds) == ["R360_killed_1"]
    completions = AuditLog.objects.filter(
        action="payment.refund", resource_id=str(payment.pk), changes__after__refund_status="completed"
    )
    assert completions.count() == 1
    assert Refund.objects.count() == 1
    event_kinds = [kind for kind, _ in _events(job["id"])]
    assert event_kinds.count("started") == 2  # ran on the first worker, then again on the second


def test_postgresql_restart_under_a_running_worker(job_workers, postgres_control):
    (worker,) = job_workers.start(1)
    first = RoomSessionFactory(started_at=timezone.now() - timedelta(days=1))
    close_abandoned_sessions.defer(timestamp=1)
    wait_for(lambda: RoomSession.objects.get(pk=first.pk).status == "abandoned", timeout=15, workers=[worker])

    assert worker.healthcheck() == 0
    postgres_control.stop()
    time.sleep(3)  # the worker's heartbeat and job fetch fail meanwhile
    assert worker.is_running()
    assert worker.healthcheck() != 0  # not processing jobs while the database is away
    postgres_control.start()

    second = RoomSessionFactory(started_at=timezone.now() - timedelta(days=1))
    close_abandoned_sessions.defer(timestamp=2)
    wait_for(
        lambda: RoomSession.objects.get(pk=second.pk).status == "abandoned",
        timeout=45,
        message="a job deferred after the restart run",
        workers=[worker],
    )
    assert worker.is_running()  # the same process: not restarted
    assert "starting again" in worker.log_tail(lines=100_000)  # the whole log: a loaded machine logs many retries
    assert wait_for(lambda: worker.healthcheck() == 0, timeout=10, workers=[worker])


def test_failing_job_is_retried_with_back_off_then_failed_and_listed_in_the_admin(job_workers, simulator, plans):
    payment = PaymentFactory(plan=plans["premium_monthly"], status=PaymentStatus.PENDING)
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - timedelta(minutes=5), expires_at=timezone.now() + timedelta(hours=1)
    )
    simulator.post("/simulator/faults", {"operation": "order_status", "status": 503, "count": 100})
    gateway = {
        "PHONEPE_PG_BASE_URL": simulator.server.pg_base_url,
        "PHONEPE_OAUTH_BASE_URL": simulator.server.pg_base_url,
        "PHONEPE_MAX_RETRIES": "0",
        "JOBS_GATEWAY_RETRIES": "2",
    }
    assert payment_tasks.defer_reconcile(payment)
    workers = job_workers.start(1, env=gateway)
    wait_for(
        lambda: job_rows("payments.reconcile_payment")[0]["status"] == "failed",
        timeout=40,
        message="the job failed after its retries",
        workers=workers,
    )
    # (A sweep at a minute boundary may queue a later job for the same payment: look at the first.)
    job = job_rows("payments.reconcile_payment")[0]
    assert job["attempts"] == 3
    events = _events(job["id"])
    starts = [at for kind, at in events if kind == "started"]
    assert [kind for kind, _ in events].count("deferred_for_retry") == 2
    assert len(starts) == 3
    # Back-off: 2 s, then 4 s (exponential), between the attempts.
    assert starts[1] - starts[0] >= 1.9
    assert starts[2] - starts[1] >= 3.9
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING  # nothing applied by the failed attempts

    client = staff_admin_client()
    page = client.get("/admin/procrastinate/procrastinatejob/?status__exact=failed")
    assert page.status_code == 200
    assert "payments.reconcile_payment" in page.content.decode()
