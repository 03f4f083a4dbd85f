"""Mandates and renewals move only along their documented tables; a refused move changes nothing."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from autopay import renewals, services
from autopay.models import MANDATE_MACHINE, RENEWAL_MACHINE, Mandate, MandateState, Renewal, RenewalState
from manas360.state_machine import TransitionRefused
from manas360.tests.state_machine_helpers import assert_matches_docs, trigger_moves
from payments.models import PaymentStatus
from payments.tests.factories import PaymentFactory

M = MandateState
R = RenewalState
TRIGGERS = "autopay.migrations.0002_mandate_forward_only"


def _stored(instance):
    return model_to_dict(type(instance).objects.get(pk=instance.pk))


def _mandate(plan, state):
    user = UserFactory()
    return Mandate.objects.create(
        user=user,
        plan=plan,
        setup_payment=PaymentFactory(user=user, status=PaymentStatus.SUCCESS),
        merchant_subscription_id=f"M360S_{user.pk.hex}",
        state=state,
        frequency="MONTHLY",
        amount_paise=plan.amount_paise,
        max_amount_paise=plan.amount_paise,
        expires_at=timezone.now() + timedelta(days=365),
        end_reason="as it was",
    )


def test_the_mandate_table_is_the_documented_one_and_the_trigger_allows_the_same_moves():
    assert_matches_docs(MANDATE_MACHINE, "autopay.md", "mandate")
    assert trigger_moves(TRIGGERS, "autopay_mandate") == MANDATE_MACHINE.edges()


def test_the_renewal_table_is_the_documented_one_and_the_trigger_allows_the_same_moves():
    assert_matches_docs(RENEWAL_MACHINE, "autopay.md", "renewal")
    assert trigger_moves(TRIGGERS, "autopay_renewal") == RENEWAL_MACHINE.edges()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("from_state", "to_state"),
    [
        (M.CANCELLED, M.ACTIVE),
        (M.REVOKED, M.PAUSED),
        (M.FAILED, M.ACTIVE),
        (M.EXPIRED, M.CANCELLED),
        (M.ACTIVE, M.ACTIVE),
    ],
)
def test_a_refused_mandate_move_raises_and_changes_nothing(plans, from_state, to_state):
    mandate = _mandate(plans["premium_monthly"], from_state)
    stored = _stored(mandate)

    with pytest.raises(TransitionRefused), transaction.atomic():
        services._move(mandate, to_state, now=timezone.now(), reason="PhonePe reports ACTIVE")

    assert model_to_dict(mandate) == stored
    assert _stored(mandate) == stored
    assert not AuditLog.objects.filter(resource_type="mandate").exists()


@pytest.mark.django_db
def test_a_legal_mandate_move_is_audited_once(plans):
    mandate = _mandate(plans["premium_monthly"], M.ACTIVE)
    with transaction.atomic():
        services._move(mandate, M.REVOKED, now=timezone.now(), reason="PhonePe reports REVOKED")
        mandate.save()
    mandate.refresh_from_db()
    assert (mandate.state, mandate.end_reason) == (M.REVOKED, "PhonePe reports REVOKED")
    assert AuditLog.objects.get(resource_type="mandate", resource_id=str(mandate.pk)).action == "autopay.mandate_state"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("from_state", "to_state"),
    [(R.SUCCEEDED, R.FAILED), (R.FAILED, R.SUCCEEDED), (R.ABANDONED, R.SCHEDULED), (R.DEBITING, R.ABANDONED)],
)
def test_a_refused_renewal_move_raises_and_changes_nothing(plans, from_state, to_state):
    mandate = _mandate(plans["premium_monthly"], M.ACTIVE)
    renewal = Renewal.objects.create(
        mandate=mandate,
        cycle=1,
        merchant_order_id=f"M360R_{mandate.pk.hex}",
        amount_paise=mandate.amount_paise,
        period_start=timezone.now(),
        state=from_state,
        failure_reason="as it was",
    )
    stored = _stored(renewal)

    with pytest.raises(TransitionRefused), transaction.atomic():
        renewals._move(renewal, to_state, reason="debit failed")

    assert model_to_dict(renewal) == stored
    assert _stored(renewal) == stored
    assert not AuditLog.objects.exists()
