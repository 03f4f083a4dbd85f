"""Background jobs of accounts: retention purges (docs/jobs.md "Retention")."""

from django.utils import timezone

from accounts import retention
from manas360.jobs import periodic_database_job


@periodic_database_job("accounts.purge_otp_challenges", "10 * * * *")
def purge_otp_challenges(timestamp: int) -> int:
    return retention.otp_challenges_purge(now=timezone.now())


@periodic_database_job("accounts.purge_auth_sessions", "20 3 * * *")
def purge_auth_sessions(timestamp: int) -> int:
    return retention.auth_sessions_purge(now=timezone.now())


@periodic_database_job("accounts.purge_django_sessions", "30 3 * * *")
def purge_django_sessions(timestamp: int) -> None:
    retention.django_sessions_purge()
