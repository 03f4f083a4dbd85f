"""The admin lockout locks the attacker, not the victim (docs/auth.md "Lockout").

Attack reproduced: five wrong passwords for a real admin's email from anywhere, and the admin's right
password answered 429 for 15 minutes. Now failures are counted per account and client address: the attacker's
address is locked, the admin from another address signs in; guessing spread over many addresses is slowed
per account without ever refusing a clean address.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditLog, AuthSession, LoginFailure
from accounts.tests.factories import AdminFactory
from accounts.tests.helpers import ADMIN_LOGIN

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-horse-42!"
ATTACKER = "198.51.100.66"
ADMIN_HOME = "203.0.113.10"


@pytest.fixture(autouse=True)
def _generous_ip_limit(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin_login_ip": "1000/15m"}


def _login(email, password, **address):
    return APIClient().post(ADMIN_LOGIN, {"email": email, "password": password}, format="json", **address)


def test_an_attacker_locks_only_their_own_address_and_the_admin_still_signs_in():
    admin = AdminFactory(password=PASSWORD)
    with time_machine.travel(timezone.now(), tick=False):
        codes = [_login(admin.email, "guess", REMOTE_ADDR=ATTACKER).json()["code"] for _ in range(6)]
        assert codes == ["invalid_credentials"] * 4 + ["too_many_attempts"] * 2
        # The attacker's address is locked, even with the right password.
        attacker = _login(admin.email, PASSWORD, REMOTE_ADDR=ATTACKER)
        assert attacker.status_code == 429
        assert attacker.json()["code"] == "too_many_attempts"
        assert 0 < attacker.json()["retryAfter"] <= 900
        assert not AuthSession.objects.filter(user=admin).exists()

        admin_answer = _login(admin.email, PASSWORD, REMOTE_ADDR=ADMIN_HOME)
    assert admin_answer.status_code == 200, admin_answer.json()
    assert AuthSession.objects.filter(user=admin, ip_address=ADMIN_HOME).count() == 1
    lockout = AuditLog.objects.get(action="auth.lockout", actor=admin)
    assert lockout.ip_address == ATTACKER
    assert lockout.changes["after"]["scope"] == "address"


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_what_gets_locked(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    admin = AdminFactory(password=PASSWORD)
    proxy = {"REMOTE_ADDR": "10.0.0.2"}  # every request reaches us through the same proxy
    for _ in range(5):
        _login(admin.email, "guess", HTTP_X_FORWARDED_FOR=ATTACKER, **proxy)
    assert _login(admin.email, PASSWORD, HTTP_X_FORWARDED_FOR=ATTACKER, **proxy).status_code == 429
    # A client-written address in front of the real one does not escape the lock...
    spoofed = _login(admin.email, PASSWORD, HTTP_X_FORWARDED_FOR=f"192.0.2.1, {ATTACKER}", **proxy)
    assert spoofed.status_code == 429
    # ...and the admin, through the same proxy from their own address, signs in.
    assert _login(admin.email, PASSWORD, HTTP_X_FORWARDED_FOR=ADMIN_HOME, **proxy).status_code == 200
    assert set(LoginFailure.objects.values_list("ip_address", flat=True)) == {ATTACKER}


def test_the_locked_address_is_free_again_after_15_minutes():
    admin = AdminFactory(password=PASSWORD)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            _login(admin.email, "guess", REMOTE_ADDR=ATTACKER)
        assert _login(admin.email, PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 429
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert _login(admin.email, PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 200


def test_guessing_spread_over_many_addresses_is_slowed_but_a_clean_address_still_signs_in(settings):
    settings.ADMIN_LOCKOUT_ACCOUNT_THRESHOLD = 6
    admin = AdminFactory(password=PASSWORD)
    botnet = [f"198.51.100.{n}" for n in range(1, 7)]
    with time_machine.travel(timezone.now(), tick=False):
        answers = [_login(admin.email, "guess", REMOTE_ADDR=address).json()["code"] for address in botnet]
        # Below the account threshold each address gets 401; the failure that reaches it answers 429.
        assert answers == ["invalid_credentials"] * 5 + ["too_many_attempts"]
        # Now every address that has failed is refused at once (one guess per address per window)...
        for address in botnet:
            refused = _login(admin.email, PASSWORD, REMOTE_ADDR=address)
            assert refused.status_code == 429, address
        assert LoginFailure.objects.filter(user=admin).count() == 6  # refusals are not attempts
        # ...while an address that never failed, the admin's own, signs in with the right password.
        assert _login(admin.email, PASSWORD, REMOTE_ADDR=ADMIN_HOME).status_code == 200
        # A fresh address still gets its password checked: a wrong one counts and is refused from then on.
        assert _login(admin.email, "guess", REMOTE_ADDR="192.0.2.77").status_code == 429
    assert AuditLog.objects.filter(action="auth.lockout", actor=admin, changes__after__scope="account").count() == 1


def test_fewer_failures_than_the_threshold_lock_nothing():
    admin = AdminFactory(password=PASSWORD)
    for _ in range(4):
        assert _login(admin.email, "guess", REMOTE_ADDR=ATTACKER).status_code == 401
    assert _login(admin.email, PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 200
    assert not AuditLog.objects.filter(action="auth.lockout").exists()


def test_non_admin_addresses_lock_per_address_too_so_the_lockout_reveals_nothing():
    email = "nobody@example.com"
    for _ in range(5):
        _login(email, "guess", REMOTE_ADDR=ATTACKER)
    assert _login(email, PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 429
    other = _login(email, PASSWORD, REMOTE_ADDR=ADMIN_HOME)
    assert other.status_code == 401
    assert other.json()["code"] == "invalid_credentials"


def test_the_slow_down_answers_alike_for_an_admin_and_an_unknown_address(settings):
    settings.ADMIN_LOCKOUT_ACCOUNT_THRESHOLD = 3
    admin = AdminFactory(password=PASSWORD)
    botnet = [f"198.51.100.{n}" for n in range(1, 5)]

    def shapes(email):
        answers = []
        for address in botnet:
            for _ in range(2):
                response = _login(email, "guess", REMOTE_ADDR=address)
                body = response.json()
                body.pop("requestId", None)
                answers.append((response.status_code, body, response.get("Retry-After")))
        return answers

    with time_machine.travel(timezone.now(), tick=False):
        for_admin = shapes(admin.email)
        for_unknown = shapes("nobody@example.com")
    assert [status for status, _, _ in for_admin] == [401, 401] + [429] * 6
    assert for_unknown == for_admin


def test_ipv6_clients_are_counted_by_their_64_network():
    admin = AdminFactory(password=PASSWORD)
    for n in range(1, 6):  # five "different" addresses inside one subscriber's /64
        _login(admin.email, "guess", REMOTE_ADDR=f"2001:db8:1:2::{n}")
    assert _login(admin.email, PASSWORD, REMOTE_ADDR="2001:db8:1:2::ffff").status_code == 429
    assert set(LoginFailure.objects.values_list("ip_address", flat=True)) == {"2001:db8:1:2::/64"}
    assert _login(admin.email, PASSWORD, REMOTE_ADDR="2001:db8:1:3::1").status_code == 200
