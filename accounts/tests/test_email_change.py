"""Email change takes proof (docs/auth.md "Email change").

Attack reproduced: `PATCH /users/me {"email": "victim@…"}` stored any unused address at once; when its
owner later signed in by email code they landed in the attacker's account, mental-health records included.
Now the address is pending until a code sent to it is confirmed, is not used for sign-in meanwhile, does not
reveal whether it is registered, and every step is audited.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditLog, EmailChangeRequest, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import ME, SEND, VERIFY, last_code, wrong_code

pytestmark = pytest.mark.django_db

CHANGE = "/api/v1/users/me/email-change"
CONFIRM = "/api/v1/users/me/email-change/confirm"


@pytest.fixture
def attacker(make_auth_client):
    return make_auth_client(UserFactory(email="attacker@example.com", phone_number="+919800000001"))


def test_patching_someone_elses_address_does_not_hand_them_your_account(attacker, api_client, _otp_outbox):  # noqa: PT019
    response = attacker.patch(ME, {"email": "victim@example.com"}, format="json")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["email"] == "attacker@example.com"  # unchanged, and not shown as the user's email
    assert data["pendingEmail"] == "victim@example.com"
    assert response.json()["user"]["pendingEmail"] == "victim@example.com"
    assert _otp_outbox[-1].identifier == "victim@example.com"  # the code went to the address, not the attacker
    assert User.objects.get(pk=attacker.user.pk).email == "attacker@example.com"

    # The victim signs in by email code: a new account of their own, not the attacker's.
    assert api_client.post(SEND, {"email": "victim@example.com"}, format="json").status_code == 200
    signed_in = api_client.post(VERIFY, {"email": "victim@example.com", "otp": last_code()}, format="json")
    assert signed_in.status_code == 200
    assert signed_in.json()["user"]["id"] != str(attacker.user.pk)
    assert signed_in.json()["data"]["isNewUser"] is True


def test_the_code_sent_to_the_new_address_confirms_the_change(attacker):
    attacker.post(CHANGE, {"email": "New.Address@Example.com"}, format="json")
    code = last_code()

    response = attacker.post(CONFIRM, {"code": code}, format="json")

    assert response.status_code == 200
    assert response.json()["data"]["email"] == "new.address@example.com"
    assert User.objects.get(pk=attacker.user.pk).email == "new.address@example.com"
    assert attacker.post(CONFIRM, {"code": code}, format="json").json()["code"] == "otp_invalid"  # single use
    actions = list(AuditLog.objects.filter(resource_id=str(attacker.user.pk)).values_list("action", "changes"))
    assert (
        "user.email_change.request",
        {"before": {"email": "attacker@example.com"}, "after": {"pending_email": "new.address@example.com"}},
    ) in actions
    assert (
        "user.email_change",
        {"before": {"email": "attacker@example.com"}, "after": {"email": "new.address@example.com"}},
    ) in actions


def test_a_wrong_code_changes_nothing_and_five_kill_the_request(attacker, settings):
    attacker.post(CHANGE, {"email": "new@example.com"}, format="json")
    bad = wrong_code(last_code())
    codes = [
        attacker.post(CONFIRM, {"code": bad}, format="json").json()["code"] for _ in range(settings.OTP_MAX_ATTEMPTS)
    ]
    assert codes == ["otp_invalid"] * (settings.OTP_MAX_ATTEMPTS - 1) + ["otp_attempts_exceeded"]
    assert attacker.post(CONFIRM, {"code": last_code()}, format="json").json()["code"] == "otp_attempts_exceeded"
    assert User.objects.get(pk=attacker.user.pk).email == "attacker@example.com"
    assert not AuditLog.objects.filter(action="user.email_change").exists()


def test_an_expired_code_changes_nothing(attacker):
    attacker.post(CHANGE, {"email": "new@example.com"}, format="json")
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert attacker.post(CONFIRM, {"code": last_code()}, format="json").json()["code"] == "otp_expired"
    assert User.objects.get(pk=attacker.user.pk).email == "attacker@example.com"


def test_only_the_newest_request_can_be_confirmed(attacker):
    attacker.post(CHANGE, {"email": "first@example.com"}, format="json")
    first_code = last_code()
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):  # past the resend cooldown
        attacker.post(CHANGE, {"email": "second@example.com"}, format="json")
        if first_code != last_code():
            assert attacker.post(CONFIRM, {"code": first_code}, format="json").json()["code"] == "otp_invalid"
        assert attacker.post(CONFIRM, {"code": last_code()}, format="json").status_code == 200
    assert User.objects.get(pk=attacker.user.pk).email == "second@example.com"


def test_a_registered_address_is_answered_like_a_free_one(attacker, make_auth_client):
    UserFactory(email="taken@example.com")
    taken = attacker.patch(ME, {"email": "taken@example.com"}, format="json")
    other = make_auth_client(UserFactory()).patch(ME, {"email": "free@example.com"}, format="json")

    assert taken.status_code == other.status_code == 200
    assert taken.json()["message"] == other.json()["message"]
    assert set(taken.json()["data"]) == set(other.json()["data"])
    # Proving control of the address is what it takes to learn that it is taken (and nothing changes).
    assert (
        attacker.post(CONFIRM, {"code": last_code_for("taken@example.com")}, format="json").json()["code"]
        == "email_taken"
    )
    assert User.objects.get(pk=attacker.user.pk).email == "attacker@example.com"


def last_code_for(address):
    from accounts import otp_delivery

    return [message.code for message in otp_delivery.outbox if message.identifier == address][-1]


def test_two_users_may_ask_for_the_same_address_and_only_the_prover_gets_it(attacker, make_auth_client):
    owner = make_auth_client(UserFactory(email="owner-old@example.com"))
    attacker.patch(ME, {"email": "contested@example.com"}, format="json")
    owner.patch(ME, {"email": "contested@example.com"}, format="json")
    assert owner.post(CONFIRM, {"code": last_code()}, format="json").status_code == 200
    assert EmailChangeRequest.objects.filter(new_email="contested@example.com").count() == 2
    assert User.objects.get(pk=owner.user.pk).email == "contested@example.com"
    assert User.objects.get(pk=attacker.user.pk).email == "attacker@example.com"


def test_requests_are_rate_limited_like_sign_in_codes(attacker):
    assert attacker.post(CHANGE, {"email": "a@example.com"}, format="json").status_code == 200
    again = attacker.post(CHANGE, {"email": "b@example.com"}, format="json")
    assert again.status_code == 429
    assert again.json()["code"] == "otp_resend_too_soon"
    assert EmailChangeRequest.objects.filter(user=attacker.user).count() == 1


def test_a_refused_email_change_leaves_the_rest_of_the_patch_unapplied(attacker):
    attacker.post(CHANGE, {"email": "a@example.com"}, format="json")
    refused = attacker.patch(ME, {"email": "b@example.com", "bio": "changed"}, format="json")
    assert refused.status_code == 429
    assert User.objects.get(pk=attacker.user.pk).bio != "changed"


def test_an_admin_editing_another_user_sets_the_email_directly_and_is_audited(admin_client, user):
    response = admin_client.patch(f"/api/v1/users/{user.pk}", {"email": "fixed@example.com"}, format="json")
    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).email == "fixed@example.com"
    assert AuditLog.objects.filter(action="user.update", resource_id=str(user.pk)).exists()


@pytest.mark.parametrize("body", [{}, {"code": 123456}, {"code": "12345"}, {"code": "١٢٣٤٥٦"}])
def test_malformed_codes_are_400(attacker, body):
    attacker.post(CHANGE, {"email": "new@example.com"}, format="json")
    response = attacker.post(CONFIRM, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert EmailChangeRequest.objects.get().attempts == 0
