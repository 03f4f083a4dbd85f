"""The reconciliation audit with PhonePe (docs/payments.md "Reconciliation audit"): a periodic job
(`payments.reconciliation_audit`, payments/tasks.py) that compares, for every order, redemption and refund we
created in the last RECONCILIATION_AUDIT_DAYS, PhonePe's state with ours.

Each disagreement is first handed to the normal path for that row (the pending payment's reconciliation,
the order status applied to a failed payment, the refund's finish, the renewal's sync: the same locked,
forward-only, audited services the webhook and the jobs use); PhonePe is then asked again, and the
row counts as repaired only if both sides now agree. What no normal path can settle (money PhonePe took
against a payment we closed, a success PhonePe reports failed, amounts that differ) is raised for staff
as a `ReconciliationFinding`, kept open until a later run finds both sides agree.

Sources by layer: payments audits its orders and refunds here; an app above payments that created PhonePe
orders of its own registers a source from its `AppConfig.ready()` (`audit_source_register`; autopay's
redemptions: autopay/audit.py) and claims the payments it checks itself, so payments imports nothing of it.
Each row is checked on its own: one that fails is logged and counted, the others are still checked; after
RECONCILIATION_AUDIT_MAX_GATEWAY_FAILURES rows in a row PhonePe could not answer for, the run stops early
and says so (`complete` false), rather than spending an hour on timeouts.
"""

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.audit import audit_log_record
from accounts.models import User
from payments.models import (
    FindingKind,
    FindingOutcome,
    Payment,
    PaymentStatus,
    ReconciliationAudit,
    ReconciliationFinding,
    Refund,
    RefundStatus,
)
from payments.phonepe.client import OrderStatus, PhonePeError, PhonePeNotFound, get_client
from payments.phonepe.client import RefundStatus as GatewayRefundStatus
from payments.reconciliation import refund_finish
from payments.services import payment_apply_order_status, payment_apply_refund_status, payment_reconcile

logger = logging.getLogger("manas360.payments")

AUDIT_COUNTS = ("checked", "disagreements", "repaired", "raised", "unavailable")
NOT_FOUND = "NOT_FOUND"  # PhonePe has no such order or refund


class _HasState(Protocol):
    @property
    def state(self) -> str: ...


StatusT = TypeVar("StatusT", bound=_HasState)


def gateway_state(ask: Callable[[], StatusT]) -> tuple[StatusT | None, str]:
    """PhonePe's answer about one of our rows and its state: (None, NOT_FOUND) when PhonePe does not know it."""
    try:
        status = ask()
    except PhonePeNotFound:
        return None, NOT_FOUND
    return status, status.state


FINAL_GATEWAY_STATES = {"COMPLETED", "FAILED"}


@dataclass(frozen=True)
class Verdict:
    """One row compared: both states, whether they agree, and how to repair a disagreement (None: raise it)."""

    reference: str
    ours: str
    theirs: str
    agree: bool
    detail: str = ""
    repair: Callable[[], Any] | None = None


class AuditSource(Protocol):
    kind: str
    # Payments this source checks itself (through its own PhonePe API), left out of the orders' audit.
    claims_payments: Q | None

    def rows(self, *, since: datetime, until: datetime) -> Iterable[Any]: ...

    def check(self, row: Any, *, now: datetime) -> Verdict:
        """Ask PhonePe about one row and compare (at the run's `now`); raises PhonePeError when PhonePe cannot
        answer."""
        ...


_sources: list[AuditSource] = []


def audit_source_register(source: AuditSource) -> None:
    """For apps above payments, from `AppConfig.ready()`: one source per kind."""
    if any(existing.kind == source.kind for existing in _sources):
        return
    _sources.append(source)


# --- orders ----------------------------------------------------------------------------------


def _claimed_elsewhere() -> Q:
    claims = [source.claims_payments for source in _sources if source.claims_payments is not None]
    result = Q(pk__in=[])
    for claim in claims:
        result |= claim
    return result


class OrderSource:
    """Our payments (checkout orders, Autopay setup orders) against PhonePe's order status."""

    kind: str = FindingKind.ORDER
    claims_payments: Q | None = None

    def rows(self, *, since: datetime, until: datetime) -> Iterable[Any]:
        payments: QuerySet[Payment] = Payment.objects.filter(created_at__gte=since, created_at__lt=until)
        return list(payments.exclude(_claimed_elsewhere()).order_by("created_at").values_list("pk", flat=True))

    def check(self, row: Any, *, now: datetime) -> Verdict:
        payment = Payment.objects.get(pk=row)
        status, theirs = gateway_state(
            lambda: get_client().get_order_status(merchant_order_id=payment.merchant_order_id)
        )
        ours = payment.status
        verdict = Verdict(reference=payment.merchant_order_id, ours=ours, theirs=theirs, agree=True)
        closed = ours in (PaymentStatus.SUCCESS, PaymentStatus.REFUNDED)
        expired = payment.expires_at is not None and payment.expires_at <= now

        def reconcile() -> None:
            payment_reconcile(payment_id=payment.pk, now=now)

        if status is not None and theirs == "COMPLETED":
            if status.amount != payment.amount_paise:
                return _differs(verdict, f"PhonePe took {status.amount} paise, we expected {payment.amount_paise}")
            if closed:
                return verdict
            if ours == PaymentStatus.PENDING:
                return _differs(verdict, "PhonePe completed it", repair=reconcile)

            completed: OrderStatus = status

            def apply_completed() -> None:  # a late COMPLETED is honoured (failed -> success)
                payment_apply_order_status(payment_id=payment.pk, status=completed, now=now)

            return _differs(verdict, "PhonePe completed it after we failed it", repair=apply_completed)
        if theirs == "FAILED":
            if ours == PaymentStatus.PENDING:
                return _differs(verdict, "PhonePe failed it", repair=reconcile)
            if closed:
                return _differs(verdict, "we granted an order PhonePe reports failed")
            return verdict
        # Not final at PhonePe (or unknown to it): a payment of ours is final only if it bought nothing yet.
        if closed:
            return _differs(verdict, "we granted an order PhonePe has not completed")
        if ours == PaymentStatus.PENDING and expired:
            return _differs(verdict, "pending past the order's expiry", repair=reconcile)
        return verdict


# --- refunds ---------------------------------------------------------------------------------


class RefundSource:
    """Our refunds against PhonePe's refund status."""

    kind: str = FindingKind.REFUND
    claims_payments: Q | None = None

    def rows(self, *, since: datetime, until: datetime) -> Iterable[Any]:
        refunds = Refund.objects.filter(created_at__gte=since, created_at__lt=until).order_by("created_at")
        return list(refunds.values_list("pk", flat=True))

    def check(self, row: Any, *, now: datetime) -> Verdict:
        refund = Refund.objects.get(pk=row)
        status, theirs = gateway_state(
            lambda: get_client().get_refund_status(merchant_refund_id=refund.merchant_refund_id)
        )
        ours = refund.status
        verdict = Verdict(reference=refund.merchant_refund_id, ours=ours, theirs=theirs, agree=True)
        in_flight = ours in (RefundStatus.PENDING, RefundStatus.CONFIRMED)

        def finish() -> None:
            refund_finish(refund_id=str(refund.pk), now=now)

        if status is not None and theirs == "COMPLETED":
            if status.amount != refund.amount_paise:
                return _differs(verdict, f"PhonePe refunded {status.amount} paise, we asked {refund.amount_paise}")
            if ours == RefundStatus.COMPLETED:
                return verdict
            if in_flight:
                return _differs(verdict, "PhonePe completed it", repair=finish)

            completed_refund: GatewayRefundStatus = status

            def apply_completed() -> None:  # marked failed here, taken by PhonePe (a lost answer)
                payment_apply_refund_status(refund_id=refund.pk, status=completed_refund, now=now)

            return _differs(verdict, "PhonePe completed a refund we marked failed", repair=apply_completed)
        if theirs == "FAILED":
            if in_flight:
                return _differs(verdict, "PhonePe failed it", repair=finish)
            if ours == RefundStatus.COMPLETED:
                return _differs(verdict, "we recorded a refund PhonePe reports failed")
            return verdict
        if theirs == NOT_FOUND:
            if ours == RefundStatus.PENDING:
                return _differs(verdict, "decided but not at PhonePe", repair=finish)
            if ours == RefundStatus.FAILED:
                return verdict  # refused when sent
            return _differs(verdict, "we think PhonePe has it; PhonePe does not")
        # In flight at PhonePe.
        if in_flight:
            return verdict
        return _differs(verdict, "closed here while PhonePe is still processing it")


def _differs(verdict: Verdict, detail: str, *, repair: Callable[[], Any] | None = None) -> Verdict:
    return Verdict(
        reference=verdict.reference,
        ours=verdict.ours,
        theirs=verdict.theirs,
        agree=False,
        detail=detail,
        repair=repair,
    )


_sources.extend([OrderSource(), RefundSource()])


# --- the run ---------------------------------------------------------------------------------


def reconciliation_audit(*, now: datetime) -> ReconciliationAudit:
    """One audit run over every registered source. Returns the finished `ReconciliationAudit` row."""
    audit = ReconciliationAudit.objects.create(
        since=now - timedelta(days=settings.RECONCILIATION_AUDIT_DAYS),
        until=now - timedelta(minutes=settings.RECONCILIATION_AUDIT_MIN_AGE_MINUTES),
    )
    counts: dict[str, dict[str, int]] = {}
    failures_in_a_row, stopped = 0, False
    for source in list(_sources):
        kind_counts = counts.setdefault(str(source.kind), dict.fromkeys(AUDIT_COUNTS, 0))
        for row in source.rows(since=audit.since, until=audit.until):
            if stopped:
                kind_counts["unavailable"] += 1
                continue
            try:
                verdict = source.check(row, now=now)
            except PhonePeError:
                kind_counts["unavailable"] += 1
                failures_in_a_row += 1
                stopped = failures_in_a_row >= settings.RECONCILIATION_AUDIT_MAX_GATEWAY_FAILURES
                continue
            except Exception:
                # One row that cannot be checked (a bug, a row deleted meanwhile) never stops the others.
                logger.exception("audit could not check a row", extra={"kind": str(source.kind)})
                kind_counts["unavailable"] += 1
                continue
            failures_in_a_row = 0
            kind_counts["checked"] += 1
            if verdict.agree:
                _resolve(audit, source.kind, verdict.reference, now=now)
                continue
            kind_counts["disagreements"] += 1
            outcome = _settle(audit, source, row, verdict, now=now)
            kind_counts[outcome] += 1
    audit.counts = counts
    audit.complete = not stopped
    # When the run ended, measured: a run takes minutes of gateway calls, and `now` is when it began.
    audit.finished_at = timezone.now()
    audit.save(update_fields=["counts", "complete", "finished_at"])
    log = logger.error if audit.total("raised") else logger.info
    log(
        "reconciliation audit finished", extra={"complete": audit.complete, **{c: audit.total(c) for c in AUDIT_COUNTS}}
    )
    return audit


def _settle(audit: ReconciliationAudit, source: AuditSource, row: Any, verdict: Verdict, *, now: datetime) -> str:
    """Repair through the normal path and ask PhonePe again; what is still wrong is raised for staff."""
    after: Verdict | None = None
    if verdict.repair is not None:
        try:
            verdict.repair()
            after = source.check(row, now=now)
        except Exception:
            logger.warning("audit repair failed", extra={"kind": str(source.kind)}, exc_info=True)
    with transaction.atomic():
        open_finding = (
            ReconciliationFinding.objects.select_for_update()
            .filter(kind=source.kind, reference=verdict.reference, resolved_at__isnull=True)
            .first()
        )
        if after is not None and after.agree:
            if open_finding is not None:
                open_finding.resolved_at = now
                open_finding.save(update_fields=["resolved_at"])
            ReconciliationFinding.objects.create(
                audit=audit,
                kind=source.kind,
                reference=verdict.reference,
                ours=str(verdict.ours)[:30],
                theirs=verdict.theirs[:30],
                outcome=FindingOutcome.REPAIRED,
                detail=f"{verdict.detail}; now {after.ours}"[:500],
                last_seen_at=now,
                resolved_at=now,
            )
            logger.warning("audit repaired a disagreement", extra={"kind": str(source.kind)})
            return FindingOutcome.REPAIRED
        detail = verdict.detail if after is None else f"{verdict.detail}; after repair ours {after.ours}"
        fields = {
            "audit": audit,
            "ours": str(verdict.ours)[:30],
            "theirs": verdict.theirs[:30],
            "outcome": FindingOutcome.RAISED,
            "detail": detail[:500],
            "last_seen_at": now,
        }
        if open_finding is None:
            ReconciliationFinding.objects.create(kind=source.kind, reference=verdict.reference, **fields)
        else:
            if (open_finding.ours, open_finding.theirs) != (fields["ours"], fields["theirs"]):
                fields.update(acknowledged_at=None, acknowledged_by=None)  # a new situation: staff look again
            ReconciliationFinding.objects.filter(pk=open_finding.pk).update(**fields)
    logger.error("audit raised a disagreement for staff", extra={"kind": str(source.kind)})
    return FindingOutcome.RAISED


def _resolve(audit: ReconciliationAudit, kind: str, reference: str, *, now: datetime) -> None:
    """Both sides agree now: an open finding of this row is resolved."""
    ReconciliationFinding.objects.filter(kind=kind, reference=reference, resolved_at__isnull=True).update(
        resolved_at=now, audit=audit
    )


def audit_latest() -> ReconciliationAudit | None:
    """The latest finished run."""
    return ReconciliationAudit.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()


def findings_open() -> QuerySet[ReconciliationFinding]:
    return ReconciliationFinding.objects.filter(resolved_at__isnull=True)


def findings_waiting_for_staff() -> QuerySet[ReconciliationFinding]:
    return findings_open().filter(acknowledged_at__isnull=True)


@transaction.atomic
def finding_acknowledge(
    *, finding_id: uuid.UUID, actor: User, now: datetime, ip_address: str | None = None, user_agent: str = ""
) -> bool:
    """Staff took an open finding in hand (audited). False when it is resolved or acknowledged already."""
    finding = ReconciliationFinding.objects.select_for_update().filter(pk=finding_id).first()
    if finding is None or finding.resolved_at is not None or finding.acknowledged_at is not None:
        return False
    finding.acknowledged_at = now
    finding.acknowledged_by = actor
    finding.save(update_fields=["acknowledged_at", "acknowledged_by"])
    audit_log_record(
        action="payments.reconciliation_finding_acknowledged",
        actor=actor,
        resource_type="reconciliation_finding",
        resource_id=finding.pk,
        before={"acknowledged": False},
        after={"acknowledged": True, "kind": finding.kind, "reference": finding.reference},
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return True
