"""A payment's status moves only along its documented table; a refused move changes nothing."""

import pytest
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.models import AuditLog
from manas360.state_machine import TransitionRefused
from manas360.tests.state_machine_helpers import assert_matches_docs
from payments.models import PAYMENT_MACHINE, Payment, PaymentStatus
from payments.services.reconcile import payment_mark_expired
from payments.services.transitions import move
from payments.tests.factories import PaymentFactory

P = PaymentStatus
REFUSED = [
    (P.REFUNDED, P.SUCCESS),
    (P.REFUNDED, P.FAILED),
    (P.SUCCESS, P.PENDING),
    (P.SUCCESS, P.FAILED),
    (P.FAILED, P.PENDING),
    (P.FAILED, P.REFUNDED),
    (P.PENDING, P.REFUNDED),
    (P.PENDING, P.PENDING),
]


def test_the_payment_table_is_the_documented_one():
    assert_matches_docs(PAYMENT_MACHINE, "payments.md", "payment")


@pytest.mark.django_db
@pytest.mark.parametrize(("from_status", "to_status"), REFUSED)
def test_a_refused_payment_move_raises_and_changes_nothing(from_status, to_status):
    payment = PaymentFactory(status=from_status, failure_reason="earlier reason")
    stored = model_to_dict(Payment.objects.get(pk=payment.pk))

    with pytest.raises(TransitionRefused) as refused, transaction.atomic():
        move(payment, to_status, now=timezone.now(), reason="late callback")

    assert (refused.value.from_state, refused.value.to_state) == (from_status, to_status)
    assert refused.value.status_code == 409
    assert model_to_dict(payment) == stored  # the instance in memory is untouched too
    payment.refresh_from_db()
    assert model_to_dict(payment) == stored
    assert not AuditLog.objects.filter(resource_type="payment", resource_id=str(payment.pk)).exists()


@pytest.mark.django_db
def test_a_legal_payment_move_is_audited_once():
    payment = PaymentFactory(status=P.PENDING)
    with transaction.atomic():
        move(payment, P.FAILED, now=timezone.now(), reason="expired")
        payment.save()
    payment.refresh_from_db()
    assert (payment.status, payment.failure_reason) == (P.FAILED, "expired")
    audit = AuditLog.objects.get(resource_type="payment", resource_id=str(payment.pk))
    assert audit.action == "payment.state_change"


@pytest.mark.django_db
def test_expiring_a_payment_that_already_succeeded_changes_nothing():
    payment = PaymentFactory(status=P.SUCCESS)
    stored = model_to_dict(Payment.objects.get(pk=payment.pk))

    assert payment_mark_expired(now=timezone.now(), payment_id=payment.pk) == "not_pending"

    payment.refresh_from_db()
    assert model_to_dict(payment) == stored
    assert not AuditLog.objects.filter(resource_type="payment").exists()
