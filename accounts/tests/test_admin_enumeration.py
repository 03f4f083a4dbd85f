"""Admin accounts are not enumerable through the lockout (docs/auth.md "Admin sign-in and MFA").

Attack reproduced: five wrong passwords for an address, then a sixth try. A real admin's account was
locked (429 `too_many_attempts`) while an unknown or non-admin address kept answering 401, which told the
attacker which addresses belong to admins. Now every address answers alike, at every step.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import LoginFailure
from accounts.tests.factories import AdminFactory, UserFactory
from accounts.tests.helpers import ADMIN_LOGIN

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-horse-42!"


def _attempt(client, email, password="wrong-password"):  # noqa: S107 - a wrong password on purpose
    return client.post(ADMIN_LOGIN, {"email": email, "password": password}, format="json")


def _shape(response):
    body = response.json()
    body.pop("requestId", None)
    return response.status_code, body, response.get("Retry-After")


@pytest.fixture
def addresses(db, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin_login_ip": "1000/15m"}
    admin = AdminFactory(password=PASSWORD, email="ops@manas360.test")
    patient = UserFactory(email="patient@example.com", password=PASSWORD)
    deleted_admin = AdminFactory(email="gone@manas360.test", password=PASSWORD, deleted_at=timezone.now())
    return {
        "admin": admin.email,
        "unknown": "nobody@example.com",
        "patient": patient.email,
        "deleted_admin": deleted_admin.email,
    }


def test_every_attempt_answers_alike_for_admins_and_other_addresses(api_client, addresses):
    start = timezone.now()
    answers = {}
    with time_machine.travel(start, tick=False):
        for kind, email in addresses.items():
            answers[kind] = [_shape(_attempt(api_client, email)) for _ in range(7)]
    reference = answers.pop("admin")
    assert [status for status, _, _ in reference] == [401] * 4 + [429] * 3
    for kind, shapes in answers.items():
        assert shapes == reference, kind


def test_a_locked_lookalike_refuses_even_the_right_password_then_unlocks(api_client, addresses):
    start = timezone.now()
    patient = addresses["patient"]
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            _attempt(api_client, patient)
        locked = _attempt(api_client, patient, PASSWORD)
        assert locked.status_code == 429
        assert locked.json()["code"] == "too_many_attempts"
        assert 0 < locked.json()["retryAfter"] <= 900
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        unlocked = _attempt(api_client, patient, PASSWORD)
    assert unlocked.status_code == 401
    assert unlocked.json()["code"] == "invalid_credentials"
    assert not LoginFailure.objects.filter(user__email=patient).exists()  # the patient's account is untouched


def test_fewer_failures_than_the_threshold_lock_nothing(api_client, addresses):
    for _ in range(4):
        assert _attempt(api_client, addresses["unknown"]).status_code == 401
    assert _attempt(api_client, "other@example.com").status_code == 401
