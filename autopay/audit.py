"""Our redemptions (renewal debits) in payments' audit with PhonePe (payments/audit.py, docs/autopay.md).

Each renewal created in the audit's window is compared with PhonePe's subscription order status. A debit
PhonePe settled while our renewal is still open is repaired by `renewal_sync` (the path the callbacks and
the job use: COMPLETED records the payment and its period, FAILED starts the grace). What it cannot settle
is raised for staff: money PhonePe took against a renewal we closed, a charge we recorded that PhonePe
does not report completed, amounts that differ. The payments of renewals are checked here, not as orders
(they are subscription orders at PhonePe).
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Q

from autopay.models import OPEN_RENEWAL_STATES, Renewal, RenewalState
from autopay.renewals import renewal_sync
from payments.api import NOT_FOUND, FindingKind, PaymentStatus, Verdict, gateway_state, get_autopay_client

R = RenewalState
# PhonePe states of a redemption order that leave it open (a notice not redeemed, a debit in progress).
NOT_FINAL_WITHOUT_DEBIT = {"NOTIFIED"}


class RedemptionSource:
    kind: str = FindingKind.REDEMPTION
    claims_payments: Q | None = Q(renewal__isnull=False)

    def rows(self, *, since: datetime, until: datetime) -> Iterable[Any]:
        renewals = Renewal.objects.filter(created_at__gte=since, created_at__lt=until).order_by("created_at")
        return list(renewals.values_list("pk", flat=True))

    def check(self, row: Any, *, now: datetime) -> Verdict:
        renewal = Renewal.objects.select_related("payment").get(pk=row)
        status, theirs = gateway_state(
            lambda: get_autopay_client().get_subscription_order_status(merchant_order_id=renewal.merchant_order_id)
        )
        ours = renewal.state
        agree = Verdict(reference=renewal.merchant_order_id, ours=ours, theirs=theirs, agree=True)
        is_open = ours in OPEN_RENEWAL_STATES

        def differs(detail: str, *, repair: bool = False) -> Verdict:
            def sync() -> None:
                renewal_sync(renewal_id=renewal.pk, now=now)

            return Verdict(
                reference=agree.reference,
                ours=ours,
                theirs=theirs,
                agree=False,
                detail=detail,
                repair=sync if repair else None,
            )

        if status is not None and theirs == "COMPLETED":
            if status.amount != renewal.amount_paise:
                return differs(f"PhonePe debited {status.amount} paise, the renewal is {renewal.amount_paise}")
            if ours == R.SUCCEEDED:
                paid = renewal.payment is not None and renewal.payment.status in (
                    PaymentStatus.SUCCESS,
                    PaymentStatus.REFUNDED,
                )
                return agree if paid else differs("charged, but no successful payment recorded")
            if is_open:
                return differs("PhonePe debited it", repair=True)
            return differs("PhonePe debited a renewal we closed")
        if theirs == "FAILED":
            if is_open:
                return differs("PhonePe failed the debit", repair=True)
            if ours == R.SUCCEEDED:
                return differs("we recorded a charge PhonePe reports failed")
            return agree
        if theirs == NOT_FOUND:
            never_sent = renewal.notified_at is None and ours in (R.SCHEDULED, R.FAILED, R.ABANDONED)
            return agree if never_sent else differs("PhonePe has no such order")
        # Not final at PhonePe: a notice not redeemed yet, or a debit in progress.
        if is_open or (ours == R.ABANDONED and theirs in NOT_FINAL_WITHOUT_DEBIT):
            return agree
        if ours == R.FAILED and theirs in NOT_FINAL_WITHOUT_DEBIT:
            return agree  # the notice lapsed without a debit
        return differs("closed here while PhonePe has not settled it")
