"""Subscriptions and grants move only along their documented tables; a refused move changes nothing."""

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.models import AuditLog
from manas360.state_machine import TransitionRefused
from manas360.tests.state_machine_helpers import assert_matches_docs, trigger_moves
from payments.models import PaymentStatus
from payments.tests.factories import PaymentFactory
from subscriptions.entitlements import entitlement_grant, entitlement_revoke, entitlements_end_all
from subscriptions.errors import SubscriptionStateConflict
from subscriptions.models import GRANT_MACHINE, SUBSCRIPTION_MACHINE, Grant, GrantState
from subscriptions.models import SubscriptionStatus as S
from subscriptions.tests.factories import SubscriptionFactory
from subscriptions.transitions import grant_move, transition

G = GrantState


def _stored(instance):
    return model_to_dict(type(instance).objects.get(pk=instance.pk))


def test_the_subscription_table_is_the_documented_one():
    assert_matches_docs(SUBSCRIPTION_MACHINE, "payments.md", "subscription")


def test_the_grant_table_is_the_documented_one_and_the_database_trigger_allows_the_same_moves():
    assert_matches_docs(GRANT_MACHINE, "payments.md", "grant")
    assert trigger_moves("subscriptions.migrations.0004_grant_forward_only", "subscriptions_grant") == (
        GRANT_MACHINE.edges()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [(S.EXPIRED, S.ACTIVE), (S.CANCELLED, S.ACTIVE), (S.SUPERSEDED, S.EXPIRED), (S.ACTIVE, S.PENDING)],
)
def test_a_refused_subscription_move_is_a_409_and_changes_nothing(from_status, to_status):
    subscription = SubscriptionFactory(status=from_status)
    stored = _stored(subscription)

    with pytest.raises(SubscriptionStateConflict) as refused, transaction.atomic():
        transition(subscription, to_status)

    assert (refused.value.code, refused.value.status_code) == ("subscription_state_conflict", 409)
    assert model_to_dict(subscription) == stored
    assert _stored(subscription) == stored
    assert not AuditLog.objects.filter(resource_type="subscription").exists()


def _paid(user, plan):
    payment = PaymentFactory(user=user, plan=plan, status=PaymentStatus.SUCCESS)
    with transaction.atomic():
        entitlement_grant(now=timezone.now(), user=user, plan=plan, payment=payment)
    return payment


@pytest.mark.django_db
def test_a_refused_grant_move_raises_and_changes_nothing(user, plans):
    _paid(user, plans["premium_monthly"])
    _paid(user, plans["premium_monthly"])  # queued behind the first
    with transaction.atomic():
        entitlements_end_all(now=timezone.now(), user=user, note="ended by an admin")
    ended = Grant.objects.filter(user=user, state=G.ENDED)
    assert ended.count() == 2

    for grant in ended:
        stored = _stored(grant)
        for to_state in (G.CURRENT, G.QUEUED, G.ENDED):
            with pytest.raises(TransitionRefused), transaction.atomic():
                grant_move(grant, to_state)
            assert model_to_dict(grant) == stored
        assert _stored(grant) == stored
    assert not AuditLog.objects.filter(resource_type="grant").exists()


@pytest.mark.django_db
def test_a_current_grant_never_goes_back_to_the_queue(user, plans):
    _paid(user, plans["premium_monthly"])
    current = Grant.objects.get(user=user, state=G.CURRENT)
    stored = _stored(current)
    with pytest.raises(TransitionRefused), transaction.atomic():
        grant_move(current, G.QUEUED)
    assert model_to_dict(current) == stored
    assert _stored(current) == stored


@pytest.mark.django_db
def test_the_database_refuses_a_grant_move_backwards_whatever_writes_it(user, plans):
    payment = _paid(user, plans["premium_monthly"])
    with transaction.atomic():
        entitlements_end_all(now=timezone.now(), user=user, note="ended by an admin")
    grant = Grant.objects.get(payment=payment)
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.filter(pk=grant.pk).update(state=G.QUEUED)
    with transaction.atomic():
        entitlement_revoke(
            now=timezone.now(), payment=payment
        )  # ended -> revoked, a bulk update the trigger lets through
    grant.refresh_from_db()
    assert grant.state == G.REVOKED
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.filter(pk=grant.pk).update(state=G.ENDED, revoked_at=timezone.now())
    grant.refresh_from_db()
    assert grant.state == G.REVOKED
