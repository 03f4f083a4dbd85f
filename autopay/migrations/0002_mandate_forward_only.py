"""The database refuses a mandate state change that `MANDATE_TRANSITIONS` does not allow.

A trigger rather than application code alone: an ended mandate (cancelled, revoked,
expired, failed) never comes back, whatever path writes the row (a bulk update, a shell,
a future bug). Same for renewals: a final renewal (succeeded, failed, abandoned) stays so.
"""

from django.db import migrations

from manas360.db_triggers import forward_only

MANDATE_EDGES = [
    ("activation_in_progress", "active"),
    ("activation_in_progress", "failed"),
    ("activation_in_progress", "cancelled"),
    ("activation_in_progress", "expired"),
    ("active", "paused"),
    ("active", "cancelled"),
    ("active", "revoked"),
    ("active", "expired"),
    ("paused", "active"),
    ("paused", "cancelled"),
    ("paused", "revoked"),
    ("paused", "expired"),
]
RENEWAL_EDGES = [
    ("scheduled", "notified"),
    ("scheduled", "failed"),
    ("scheduled", "abandoned"),
    ("notified", "debiting"),
    ("notified", "succeeded"),
    ("notified", "failed"),
    ("notified", "abandoned"),
    ("debiting", "succeeded"),
    ("debiting", "failed"),
]


TABLES = {"autopay_mandate": MANDATE_EDGES, "autopay_renewal": RENEWAL_EDGES}


class Migration(migrations.Migration):
    dependencies = [("autopay", "0001_initial")]

    operations = [forward_only(TABLES)]
