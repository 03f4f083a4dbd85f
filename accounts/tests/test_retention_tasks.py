"""Retention purges of sign-in data, run through the job engine (docs/jobs.md "Retention")."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts import tasks
from accounts.models import AuthSession, LoginFailure, OtpChallenge, OtpDeliveryAttempt, RefreshToken
from accounts.sessions import session_start
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _tick():
    return int(timezone.now().timestamp())


def _otp(created_at):
    return OtpChallenge.objects.create(
        identifier="+919876543210",
        channel="sms",
        code_hash="0" * 64,
        created_at=created_at,
        expires_at=created_at + timedelta(minutes=5),
    )


def test_old_otp_challenges_are_deleted_recent_ones_kept(job_engine, settings):
    settings.RETENTION_OTP_CHALLENGE_DAYS = 7
    old = _otp(timezone.now() - timedelta(days=8))
    recent = _otp(timezone.now() - timedelta(days=6))
    current = _otp(timezone.now())
    tasks.purge_otp_challenges.defer(timestamp=_tick())
    job_engine.run()
    assert job_engine.statuses("accounts.purge_otp_challenges") == ["succeeded"]
    assert set(OtpChallenge.objects.values_list("pk", flat=True)) == {recent.pk, current.pk}
    assert not OtpChallenge.objects.filter(pk=old.pk).exists()


def test_old_delivery_attempts_go_with_the_challenges(job_engine, settings):
    settings.RETENTION_OTP_CHALLENGE_DAYS = 7
    fields = {"purpose": "sign_in", "channel": "sms", "provider": "msg91", "outcome": "sent"}
    fields |= {"recipient_masked": "***3210", "recipient_key": "k" * 64, "duration_ms": 40}
    old = OtpDeliveryAttempt.objects.create(**fields)
    recent = OtpDeliveryAttempt.objects.create(**fields)
    OtpDeliveryAttempt.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    OtpDeliveryAttempt.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=6))
    tasks.purge_otp_challenges.defer(timestamp=_tick())
    job_engine.run()
    assert list(OtpDeliveryAttempt.objects.values_list("pk", flat=True)) == [recent.pk]


def test_ended_sessions_and_expired_refresh_tokens_are_deleted_live_ones_kept(job_engine, settings):
    settings.RETENTION_ENDED_SESSION_DAYS = 30
    settings.RETENTION_EXPIRED_REFRESH_TOKEN_DAYS = 7
    user = UserFactory()
    live = session_start(now=timezone.now(), user=user).session
    ended_long_ago = session_start(now=timezone.now(), user=user).session
    ended_recently = session_start(now=timezone.now(), user=user).session
    AuthSession.objects.filter(pk=ended_long_ago.pk).update(revoked_at=timezone.now() - timedelta(days=31))
    AuthSession.objects.filter(pk=ended_recently.pk).update(revoked_at=timezone.now() - timedelta(days=1))
    expired_token = RefreshToken.objects.create(
        session=live, token_hash="e" * 64, expires_at=timezone.now() - timedelta(days=8)
    )
    live_tokens = set(
        RefreshToken.objects.filter(session=live).exclude(pk=expired_token.pk).values_list("pk", flat=True)
    )
    assert live_tokens

    tasks.purge_auth_sessions.defer(timestamp=_tick())
    job_engine.run()

    assert set(AuthSession.objects.values_list("pk", flat=True)) == {live.pk, ended_recently.pk}
    assert set(RefreshToken.objects.filter(session=live).values_list("pk", flat=True)) == live_tokens
    assert not RefreshToken.objects.filter(session_id=ended_long_ago.pk).exists()


def test_old_login_failures_are_deleted_unless_their_lockout_still_runs(job_engine, settings):
    settings.RETENTION_LOGIN_FAILURE_DAYS = 30
    user = UserFactory(admin=True)
    now = timezone.now()

    def failure(age, locks_until=None):
        return LoginFailure.objects.create(
            user=user, created_at=now - age, reason="password", ip_address="203.0.113.9", locks_until=locks_until
        )

    old = failure(timedelta(days=31))
    recent = failure(timedelta(days=29))
    old_but_locking = failure(timedelta(days=31), locks_until=now + timedelta(minutes=5))

    tasks.purge_auth_sessions.defer(timestamp=_tick())
    job_engine.run()

    assert set(LoginFailure.objects.values_list("pk", flat=True)) == {recent.pk, old_but_locking.pk}
    assert not LoginFailure.objects.filter(pk=old.pk).exists()


def test_expired_django_sessions_are_deleted(job_engine):
    expired = SessionStore()
    expired["k"] = "v"
    expired.set_expiry(-10)
    expired.create()
    current = SessionStore()
    current["k"] = "v"
    current.create()
    tasks.purge_django_sessions.defer(timestamp=_tick())
    job_engine.run()
    assert list(Session.objects.values_list("session_key", flat=True)) == [current.session_key]
