"""Leaving (accounts.departures): the apps built on accounts are told, inside the transaction that records the
departure, whenever an account is deleted or suspended, whichever path does it."""

import pytest
from django.utils import timezone

from accounts import departures
from accounts.models import User
from accounts.services import user_soft_delete
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"


@pytest.fixture
def told(monkeypatch):
    calls = []

    def handler(*, user, actor, reason, now):
        calls.append((user.pk, actor.pk if actor else None, reason, User.objects.get(pk=user.pk).is_active))

    monkeypatch.setitem(departures._handlers, "test", handler)
    return calls


def test_deleting_ones_own_account_tells_every_app(make_auth_client, told):
    user = UserFactory()

    assert make_auth_client(user).delete(ME).status_code == 200

    # Called once, by the user, with the account already marked inactive in the same transaction.
    assert told == [(user.pk, user.pk, departures.ACCOUNT_DELETED, False)]


def test_staff_delete_suspend_and_status_change_tell_every_app(admin_client, admin_user, told):
    deleted, suspended, patched = UserFactory(), UserFactory(), UserFactory()

    assert admin_client.delete(f"/api/v1/users/{deleted.pk}").status_code == 200
    assert admin_client.put(f"/api/v1/admin/users/{suspended.pk}/suspend", {}, format="json").status_code == 200
    assert (
        admin_client.patch(f"/api/v1/admin/users/{patched.pk}", {"status": "suspended"}, format="json").status_code
        == 200
    )

    assert told == [
        (deleted.pk, admin_user.pk, departures.ACCOUNT_DELETED, False),
        (suspended.pk, admin_user.pk, departures.ACCOUNT_SUSPENDED, False),
        (patched.pk, admin_user.pk, departures.ACCOUNT_SUSPENDED, False),
    ]


def test_reinstating_tells_nothing(admin_client, told):
    user = UserFactory(is_active=False)

    assert admin_client.delete(f"/api/v1/admin/users/{user.pk}/suspend").status_code == 200

    assert told == []


def test_a_handler_that_fails_rolls_the_deletion_back(monkeypatch):
    user = UserFactory()

    def refuse(*, user, actor, reason, now):
        raise RuntimeError("could not record the turn-off")

    monkeypatch.setitem(departures._handlers, "test", refuse)

    with pytest.raises(RuntimeError):
        user_soft_delete(now=timezone.now(), user=user, actor=user)

    user.refresh_from_db()
    assert (user.deleted_at, user.is_active) == (None, True)  # the departure and its consequences commit together
