"""Background jobs of accounts: retention purges (docs/jobs.md "Retention")."""

from procrastinate.contrib.django import app

from accounts import retention
from manas360.jobs import DATABASE_RETRY, schedule


@app.periodic(cron=schedule("accounts.purge_otp_challenges", "10 * * * *"))
@app.task(
    name="accounts.purge_otp_challenges",
    queue="maintenance",
    lock="accounts.purge_otp_challenges",
    retry=DATABASE_RETRY,
)
def purge_otp_challenges(timestamp: int) -> int:
    return retention.otp_challenges_purge()


@app.periodic(cron=schedule("accounts.purge_auth_sessions", "20 3 * * *"))
@app.task(
    name="accounts.purge_auth_sessions",
    queue="maintenance",
    lock="accounts.purge_auth_sessions",
    retry=DATABASE_RETRY,
)
def purge_auth_sessions(timestamp: int) -> int:
    return retention.auth_sessions_purge()


@app.periodic(cron=schedule("accounts.purge_django_sessions", "30 3 * * *"))
@app.task(
    name="accounts.purge_django_sessions",
    queue="maintenance",
    lock="accounts.purge_django_sessions",
    retry=DATABASE_RETRY,
)
def purge_django_sessions(timestamp: int) -> None:
    retention.django_sessions_purge()
