"""Redemptions in the reconciliation audit with PhonePe (autopay/audit.py), against the simulator: a debit
PhonePe took while our renewal never heard of it is recorded and granted by the audit; one we closed is
raised for staff; a clean Autopay history shows zero disagreements."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from autopay.models import Renewal, RenewalState
from autopay.renewals import renewal_advance
from payments.audit import reconciliation_audit
from payments.models import Payment, PaymentStatus, ReconciliationFinding
from payments.phonepe.autopay import get_autopay_client
from subscriptions.selectors import subscription_get_active

pytestmark = pytest.mark.django_db(transaction=True)

HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def audit_everything(settings):
    settings.RECONCILIATION_AUDIT_MIN_AGE_MINUTES = 0
    settings.RECONCILIATION_AUDIT_DAYS = 60  # the clock is moved a month ahead: the setup stays in the window


@pytest.fixture
def notified(autopay_user):
    """An approved monthly mandate whose first renewal has been notified; returns (user, renewal, paid end)."""
    user, _client, mandate = autopay_user
    end = subscription_get_active(now=timezone.now(), user=user).end_date
    with time_machine.travel(end - 47 * HOUR, tick=False):
        assert renewal_advance(now=timezone.now(), mandate_id=mandate.pk) == RenewalState.NOTIFIED
    return user, Renewal.objects.get(mandate=mandate), end


def test_a_debit_we_never_recorded_is_recorded_and_granted(notified):
    user, renewal, end = notified
    with time_machine.travel(end - 23 * HOUR, tick=False):
        # PhonePe took the debit; its answer and callbacks never reached us.
        get_autopay_client().redeem(merchant_order_id=renewal.merchant_order_id)
        renewal.refresh_from_db()
        assert renewal.state == RenewalState.NOTIFIED

        run = reconciliation_audit(now=timezone.now())

        assert run.counts["redemption"] == {
            "checked": 1,
            "disagreements": 1,
            "repaired": 1,
            "raised": 0,
            "unavailable": 0,
        }
        renewal.refresh_from_db()
        assert renewal.state == RenewalState.SUCCEEDED
        assert renewal.payment.status == PaymentStatus.SUCCESS
        assert subscription_get_active(now=timezone.now(), user=user).end_date == end + timedelta(days=30)
        (finding,) = ReconciliationFinding.objects.all()
        assert (finding.kind, finding.outcome, finding.ours, finding.theirs) == (
            "redemption",
            "repaired",
            "notified",
            "COMPLETED",
        )

        again = reconciliation_audit(now=timezone.now())
    assert again.total("disagreements") == 0
    # The renewal's payment is checked as a redemption, not as a checkout order.
    assert again.counts["redemption"]["checked"] == 1
    assert again.counts["order"]["checked"] == 1  # the setup payment only


def test_a_debit_against_a_renewal_we_closed_is_raised(notified):
    user, renewal, end = notified
    with time_machine.travel(end - 23 * HOUR, tick=False):
        get_autopay_client().redeem(merchant_order_id=renewal.merchant_order_id)
        Renewal.objects.filter(pk=renewal.pk).update(state=RenewalState.ABANDONED)  # as a turn-off would

        run = reconciliation_audit(now=timezone.now())

    assert run.counts["redemption"]["raised"] == 1
    (finding,) = ReconciliationFinding.objects.filter(resolved_at__isnull=True)
    assert (finding.reference, finding.ours, finding.theirs) == (renewal.merchant_order_id, "abandoned", "COMPLETED")
    assert not Payment.objects.filter(merchant_order_id=renewal.merchant_order_id).exists()  # nothing moved
    assert subscription_get_active(now=timezone.now(), user=user).end_date == end


def test_a_clean_autopay_history_shows_no_disagreement(notified):
    _user, renewal, end = notified
    with time_machine.travel(end - 23 * HOUR, tick=False):
        assert renewal_advance(now=timezone.now(), mandate_id=renewal.mandate_id) == RenewalState.SUCCEEDED
        run = reconciliation_audit(now=timezone.now())
    assert run.counts["redemption"]["checked"] == 1
    assert run.counts["order"]["checked"] == 1
    assert run.total("disagreements") == 0
    assert run.complete
