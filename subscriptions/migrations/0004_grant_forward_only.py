"""The database refuses a grant state change that `GRANT_TRANSITIONS` does not allow.

An ended or revoked grant never runs again and a revoked one stays revoked, whatever path writes the row
(the refund's bulk update of grants already over, a shell, a future bug).
"""

from django.db import migrations

from manas360.db_triggers import forward_only

GRANT_EDGES = [
    ("queued", "current"),
    ("queued", "ended"),
    ("queued", "revoked"),
    ("current", "ended"),
    ("current", "revoked"),
    ("ended", "revoked"),
]


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0003_auto_renew_only_with_mandate")]

    operations = [forward_only({"subscriptions_grant": GRANT_EDGES})]
