"""The reconciliation audit against the PhonePe simulator (payments/audit.py, docs/payments.md).

Disagreements are made the way faults make them (a lost callback, a lost refund answer, a row our side got
wrong) and the audit is run: repaired through the normal paths, or raised for staff and left untouched;
a clean state shows zero disagreements. Its result is on /metrics and in the admin.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import AuditLog
from payments import tasks as payment_tasks
from payments.audit import reconciliation_audit
from payments.models import (
    Payment,
    PaymentStatus,
    ReconciliationAudit,
    ReconciliationFinding,
    Refund,
    RefundStatus,
)
from payments.services import payment_reconcile, payment_refund, refund_check
from payments.tests.factories import PaymentFactory
from staff.tests.helpers import staff_admin_client
from subscriptions.selectors import subscription_get_active

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def audit_everything(settings):
    settings.RECONCILIATION_AUDIT_MIN_AGE_MINUTES = 0  # the rows of a test are seconds old


def _order(plans, simulator, *, outcome: str | None = "COMPLETED") -> Payment:
    """A pending payment of ours with its order at PhonePe, finished there as `outcome` (None: left open)."""
    payment = PaymentFactory(plan=plans["premium_monthly"], status=PaymentStatus.PENDING)
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - timedelta(minutes=5), expires_at=timezone.now() + timedelta(minutes=20)
    )
    simulator.order_for(payment, outcome, expire_after_seconds=1200)
    return payment


def _paid(plans, simulator) -> Payment:
    payment = _order(plans, simulator)
    payment_reconcile(now=timezone.now(), payment_id=payment.pk)  # the callback's path: success, granted
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCESS
    return payment


def _refund_in_flight(payment: Payment, admin_user) -> Refund:
    """Refunded by staff; PhonePe accepted the refund and has not finished it."""
    refund = payment_refund(now=timezone.now(), payment_id=payment.pk, actor=admin_user, reason="asked by the user")
    assert (refund.status, refund.sent_at is not None) == (RefundStatus.PENDING, True)
    return refund


def _metric(client, name: str) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").content.decode()):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return sample.value
    raise AssertionError(f"{name} not on /metrics")


def _counts(run: ReconciliationAudit, kind: str) -> dict:
    return run.counts[kind]


def test_a_clean_state_shows_no_disagreement(plans, simulator, admin_user):
    _paid(plans, simulator)
    _order(plans, simulator, outcome=None)  # still open on both sides
    _order(plans, simulator, outcome="FAILED")
    failed = Payment.objects.order_by("-created_at").first()
    payment_reconcile(now=timezone.now(), payment_id=failed.pk)
    refunded = _paid(plans, simulator)
    refund = _refund_in_flight(refunded, admin_user)
    simulator.finish_refund(refund.merchant_refund_id)
    refund_check(now=timezone.now(), refund_id=refund.pk)
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.COMPLETED

    run = reconciliation_audit(now=timezone.now())

    assert run.complete
    assert _counts(run, "order") == {
        "checked": 4,
        "disagreements": 0,
        "repaired": 0,
        "raised": 0,
        "unavailable": 0,
    }
    assert _counts(run, "refund")["checked"] == 1
    assert run.total("disagreements") == 0
    assert not ReconciliationFinding.objects.exists()


def test_disagreements_are_repaired_through_the_normal_paths_by_the_periodic_job(
    plans, simulator, admin_user, job_engine, client
):
    # A payment we think pending that PhonePe completed: its callback was lost.
    lost_callback = _order(plans, simulator)
    # A refund we think in flight that PhonePe completed: its answer was lost.
    refund = _refund_in_flight(_paid(plans, simulator), admin_user)
    simulator.finish_refund(refund.merchant_refund_id)

    payment_tasks.reconciliation_audit.defer(timestamp=int(timezone.now().timestamp()))
    job_engine.run()
    assert job_engine.statuses("payments.reconciliation_audit") == ["succeeded"]

    lost_callback.refresh_from_db()
    assert lost_callback.status == PaymentStatus.SUCCESS
    assert (
        subscription_get_active(now=timezone.now(), user=lost_callback.user) is not None
    )  # granted, as the callback would have
    refund.refresh_from_db()
    assert refund.status == RefundStatus.COMPLETED
    assert refund.payment.status == PaymentStatus.REFUNDED
    assert (
        subscription_get_active(now=timezone.now(), user=refund.payment.user) is None
    )  # the refunded period taken back
    assert AuditLog.objects.filter(
        action="payment.refund", resource_id=str(refund.payment_id), changes__after__refund_status="completed"
    ).exists()
    (run,) = ReconciliationAudit.objects.all()
    assert (run.total("disagreements"), run.total("repaired"), run.total("raised")) == (2, 2, 0)
    findings = ReconciliationFinding.objects.order_by("kind")
    assert [(f.kind, f.reference, f.outcome, f.resolved_at is not None) for f in findings] == [
        ("order", lost_callback.merchant_order_id, "repaired", True),
        ("refund", refund.merchant_refund_id, "repaired", True),
    ]

    # Its result on /metrics.
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(client.get("/metrics").content.decode())
        for sample in family.samples
    }
    assert samples[("reconciliation_audit_checked", (("kind", "order"),))] == 2
    assert samples[("reconciliation_audit_repaired", (("kind", "order"),))] == 1
    assert samples[("reconciliation_audit_repaired", (("kind", "refund"),))] == 1
    assert samples[("reconciliation_audit_raised", (("kind", "order"),))] == 0
    assert samples[("reconciliation_audit_complete", ())] == 1
    assert samples[("reconciliation_findings_open", ())] == 0

    # A second run: both sides agree now.
    again = reconciliation_audit(now=timezone.now())
    assert again.total("checked") == 3
    assert again.total("disagreements") == 0


def test_what_no_normal_path_can_settle_is_raised_for_staff_once_and_left_untouched(plans, simulator):
    # We granted an order that PhonePe reports failed (our side went wrong).
    wrong = _order(plans, simulator, outcome="FAILED")
    Payment.objects.filter(pk=wrong.pk).update(status=PaymentStatus.SUCCESS)
    audit_rows = AuditLog.objects.count()

    first = reconciliation_audit(now=timezone.now())
    second = reconciliation_audit(now=timezone.now())

    for run in (first, second):
        assert _counts(run, "order")["disagreements"] == 1
        assert _counts(run, "order")["raised"] == 1
        assert _counts(run, "order")["repaired"] == 0
    (finding,) = ReconciliationFinding.objects.all()  # one open finding, seen by both runs
    assert (finding.kind, finding.reference, finding.outcome) == ("order", wrong.merchant_order_id, "raised")
    assert (finding.ours, finding.theirs, finding.resolved_at) == ("success", "FAILED", None)
    assert finding.audit_id == second.pk
    wrong.refresh_from_db()
    assert wrong.status == PaymentStatus.SUCCESS  # nothing moved on the audit's word
    assert AuditLog.objects.count() == audit_rows

    admin = staff_admin_client()
    runs = admin.get("/admin/payments/reconciliationaudit/")
    assert runs.status_code == 200
    assert [run.pk for run in runs.context["cl"].result_list] == [second.pk, first.pk]  # the latest first
    open_findings = admin.get("/admin/payments/reconciliationfinding/?open=yes")
    assert [f.pk for f in open_findings.context["cl"].result_list] == [finding.pk]
    assert admin.get(f"/admin/payments/reconciliationaudit/{second.pk}/change/").status_code == 200
    assert _metric(admin, "reconciliation_findings_open") == 1

    # Staff take it in hand: still open (the two sides still disagree), no longer waiting for staff.
    response = admin.post(
        "/admin/payments/reconciliationfinding/",
        {"action": "acknowledge_selected", "_selected_action": [str(finding.pk)]},
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.acknowledged_at is not None
    assert finding.resolved_at is None
    assert AuditLog.objects.filter(
        action="payments.reconciliation_finding_acknowledged", resource_id=str(finding.pk)
    ).exists()
    assert _metric(admin, "reconciliation_findings_open") == 0
    reconciliation_audit(now=timezone.now())  # seen again, in the same state: still acknowledged
    finding.refresh_from_db()
    assert (finding.acknowledged_at is not None, finding.resolved_at) == (True, None)
    assert ReconciliationFinding.objects.count() == 1


def test_a_gateway_outage_stops_the_run_early_and_says_so(plans, simulator, settings):
    settings.RECONCILIATION_AUDIT_MAX_GATEWAY_FAILURES = 2
    settings.PHONEPE_MAX_RETRIES = 0
    pending = [_order(plans, simulator) for _ in range(4)]
    simulator.post("/simulator/faults", {"operation": "order_status", "status": 503, "count": 100})

    run = reconciliation_audit(now=timezone.now())

    assert not run.complete
    assert _counts(run, "order") == {
        "checked": 0,
        "disagreements": 0,
        "repaired": 0,
        "raised": 0,
        "unavailable": 4,
    }
    calls = [r for r in simulator.server.state.requests if r["path"].endswith("/status")]
    assert len(calls) == 2  # stopped after two failures in a row, not one timeout per row
    assert {p.status for p in Payment.objects.filter(pk__in=[p.pk for p in pending])} == {PaymentStatus.PENDING}


def test_old_runs_that_found_nothing_are_purged_by_their_job(plans, simulator, job_engine, settings):
    settings.RETENTION_RECONCILIATION_AUDIT_DAYS = 90
    old_clean, recent_clean = reconciliation_audit(now=timezone.now()), reconciliation_audit(now=timezone.now())
    wrong = _order(plans, simulator, outcome="FAILED")
    Payment.objects.filter(pk=wrong.pk).update(status=PaymentStatus.SUCCESS)
    with_finding = reconciliation_audit(now=timezone.now())
    assert with_finding.total("raised") == 1
    long_ago = timezone.now() - timedelta(days=91)
    ReconciliationAudit.objects.filter(pk__in=[with_finding.pk, old_clean.pk]).update(started_at=long_ago)

    payment_tasks.purge_reconciliation_audits.defer(timestamp=int(timezone.now().timestamp()))
    job_engine.run()

    assert job_engine.statuses("payments.purge_reconciliation_audits") == ["succeeded"]
    kept = set(ReconciliationAudit.objects.values_list("pk", flat=True))
    assert kept == {with_finding.pk, recent_clean.pk}  # the old run with a finding stays with it
    assert ReconciliationFinding.objects.get().audit_id == with_finding.pk
