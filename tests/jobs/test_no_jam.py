"""Jobs that cannot jam, with real worker processes (docs/jobs.md "Jobs that cannot jam").

* While PhonePe's subscription endpoints hang, the renewal sweep queues no second
  `autopay.advance_mandate` job beside the one still running, and even a twin queued by a
  racing sweep does not keep the first job's retry from going back to the queue: both run,
  the renewal moves on, nothing is left `doing`.
* After a worker is SIGKILLed, stalled-job recovery handles each job on its own: a job it
  cannot re-queue (an old job whose `queueing_lock` twin is waiting) does not keep an unrelated
  `payments.reconcile_payment` job from being re-queued and finishing its payment.
"""

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from autopay import tasks as autopay_tasks
from autopay.models import Renewal, RenewalState
from payments import tasks as payment_tasks
from payments.models import Payment, PaymentStatus
from payments.phonepe.simulator.handler import SimulatorHandler
from payments.tests.factories import PaymentFactory
from tests.jobs.workers import job_rows, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Hold:
    """The simulator holds the answer of the first `count` calls of one route until released, then
    answers `then_status` (an outage) or, without it, normally. A caller gone meanwhile is ignored."""

    def __init__(self, monkeypatch, method: str, *, count: int = 1, then_status: int | None = None):
        self.release = threading.Event()
        self.all_arrived = threading.Event()
        self._arrived = 0
        self._lock = threading.Lock()
        original = getattr(SimulatorHandler, method)
        hold = self

        def held(handler, *args, **kwargs):
            with hold._lock:
                if hold._arrived >= count:
                    return original(handler, *args, **kwargs)
                hold._arrived += 1
                if hold._arrived == count:
                    hold.all_arrived.set()
            hold.release.wait(30)
            with contextlib.suppress(OSError):  # the worker that asked may have been killed
                if then_status is not None:
                    return handler._send_json(then_status, {"code": "SIMULATED_FAULT", "message": "held"})
                return original(handler, *args, **kwargs)

        monkeypatch.setattr(SimulatorHandler, method, held)


def _gateway(simulator, **extra):
    return {
        "PHONEPE_PG_BASE_URL": simulator.server.pg_base_url,
        "PHONEPE_OAUTH_BASE_URL": simulator.server.pg_base_url,
        "PHONEPE_MAX_RETRIES": "0",
        **extra,
    }


def _event_types(job_id: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT type::text FROM procrastinate_events WHERE job_id = %s ORDER BY id", [job_id])
        return [row[0] for row in cursor.fetchall()]


def _statuses(task_name: str) -> list[str]:
    return [row["status"] for row in job_rows(task_name)]


def test_a_hanging_gateway_leaves_no_advance_mandate_job_stuck(job_workers, simulator, autopay_user, monkeypatch):
    _user, _client, mandate = autopay_user
    # PhonePe's subscription status hangs, then answers 503: the job fails and must be retried.
    hold = Hold(monkeypatch, "_subscription_status", then_status=503)
    # A notice window longer than the month just paid: the renewal is due now.
    # Queued before the worker starts, so the worker's own sweep (due at its start) finds it waiting.
    assert autopay_tasks.defer_advance(mandate.pk)
    env = _gateway(simulator, AUTOPAY_NOTIFY_BEFORE_HOURS="800", PHONEPE_READ_TIMEOUT_SECONDS="30")
    (worker,) = job_workers.start(1, env=env)
    assert hold.all_arrived.wait(20), worker.log_tail()
    assert _statuses("autopay.advance_mandate") == ["doing"]

    # The sweep runs meanwhile: the mandate is due, but its job is still running; no second one is queued.
    tick = int(timezone.now().timestamp()) + 1  # not a tick the worker's own scheduler defers
    autopay_tasks.renewals_due.defer(timestamp=tick)
    wait_for(
        lambda: any(
            r["args"]["timestamp"] == tick and r["status"] == "succeeded" for r in job_rows("autopay.renewals_due")
        ),
        timeout=20,
        message="the sweep ran",
        workers=[worker],
    )
    assert _statuses("autopay.advance_mandate") == ["doing"]
    # Two sweeps racing past that check queue a twin anyway: it waits for the lock, and must not jam the first.
    autopay_tasks.advance_mandate.configure(lock=f"mandate:{mandate.pk}").defer(mandate_id=str(mandate.pk))

    hold.release.set()  # the first job gets its 503, fails, and goes back to the queue for its retry
    wait_for(
        lambda: _statuses("autopay.advance_mandate") == ["succeeded", "succeeded"],
        timeout=40,
        message="both advance_mandate jobs finished",
        workers=[worker],
    )
    first, _twin = job_rows("autopay.advance_mandate")
    # It failed on the 503 and went back to the queue for its retry (not stuck `doing`), then ran again.
    events = [kind for kind in _event_types(first["id"]) if kind != "scheduled"]
    assert events == ["deferred", "started", "deferred_for_retry", "started", "succeeded"]
    renewal = Renewal.objects.get(mandate=mandate)
    assert renewal.state == RenewalState.NOTIFIED  # the renewal moved on
    notices = [o for o in simulator.server.state.orders.values() if o.merchant_order_id == renewal.merchant_order_id]
    assert len(notices) == 1  # one pre-debit notification for two jobs
    assert "UniqueViolation" not in worker.log_tail(2000)


def _pending_paid_order(plans, simulator) -> Payment:
    """A payment we think pending, that PhonePe completed (its callback was lost)."""
    payment = PaymentFactory(plan=plans["premium_monthly"], status=PaymentStatus.PENDING)
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - timedelta(minutes=5), expires_at=timezone.now() + timedelta(hours=1)
    )
    simulator.order_for(payment)
    return payment


def test_stalled_job_recovery_handles_each_job_on_its_own(job_workers, simulator, plans, monkeypatch):
    jammed_payment = _pending_paid_order(plans, simulator)
    unrelated_payment = _pending_paid_order(plans, simulator)
    hold = Hold(monkeypatch, "_order_status", count=2)  # both jobs are running when their worker dies
    # An old job queued with a queueing lock (as the code did before that option was dropped), and an
    # unrelated one.
    legacy_key = f"payment:{jammed_payment.pk}"
    payment_tasks.reconcile_payment.configure(lock=legacy_key, queueing_lock=legacy_key).defer(
        payment_id=str(jammed_payment.pk)
    )
    payment_tasks.defer_reconcile(unrelated_payment)

    (first,) = job_workers.start(1, env=_gateway(simulator))
    assert hold.all_arrived.wait(20), first.log_tail()
    first.kill()
    hold.release.set()
    assert _statuses("payments.reconcile_payment") == ["doing", "doing"]
    # Its twin, queued while it was `doing`: the old job can no longer go back to the queue.
    payment_tasks.reconcile_payment.configure(lock=legacy_key, queueing_lock=legacy_key).defer(
        payment_id=str(jammed_payment.pk)
    )

    every_second = {"manas360.retry_stalled_jobs": "* * * * * *"}
    (second,) = job_workers.start(1, env=_gateway(simulator), schedules=every_second)
    wait_for(
        lambda: _statuses("payments.reconcile_payment") == ["failed", "succeeded", "succeeded"],
        timeout=40,
        message="the unrelated job re-queued and run, the jammed one failed and its twin run",
        workers=[second],
    )
    unrelated_payment.refresh_from_db()
    jammed_payment.refresh_from_db()
    assert unrelated_payment.status == PaymentStatus.SUCCESS  # settled, not left pending past its expiry
    assert jammed_payment.status == PaymentStatus.SUCCESS  # by the twin
    assert "stalled job failed: its queueing-lock twin is waiting" in second.log_tail(2000)
    # The recovery job itself never failed, whatever the stalled jobs did.
    assert "failed" not in _statuses("manas360.retry_stalled_jobs")
