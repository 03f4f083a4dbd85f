"""Analytics reads (docs/api.md §8). Every number is computed by the database.

Definitions (docs/analytics.md is the reference):

* A room session belongs to the range when it *started* in it (`started_at` in [start 00:00 UTC, end+1 00:00 UTC)).
* completionRate = completed sessions / sessions x 100, two decimals; 0 when there are no sessions.
* avgDurationSeconds = mean `duration_seconds` of the completed sessions (abandoned or open ones are not a
  measure of a full session); avgDuration = the same in minutes, one decimal.
* activeUsers = distinct users who started at least one room session in the range; uniquePatients = the same
  restricted to role patient.
* revenue = sum of `amount_paise` of successful payments completed in the range (integer paise).
* Outcomes: improvement is "better minus worse" so that a positive number is always an improvement:
  MOOD (1-10, higher is better) = moodAfter - moodBefore; PHQ9/GAD7 (lower is better) = pre - post.
  improvementRate = share of pairs with improvement > 0 x 100, one decimal.

Python only rounds the aggregates, assembles the few grouped rows and fills days without data with zeros.

Modules by responsibility: `base` (shared row sets, aggregates, time buckets), `overview` (overview and
dashboard), `sessions`, `outcomes`, `reports`. Callers import from `analytics.selectors` only.
"""

from analytics.selectors.base import GROUP_BY_CHOICES
from analytics.selectors.outcomes import analytics_outcomes
from analytics.selectors.overview import TOP_THEMES_LIMIT, analytics_dashboard, analytics_overview
from analytics.selectors.reports import REPORT_TYPES, analytics_report
from analytics.selectors.sessions import analytics_sessions

__all__ = [
    "GROUP_BY_CHOICES",
    "REPORT_TYPES",
    "TOP_THEMES_LIMIT",
    "analytics_dashboard",
    "analytics_outcomes",
    "analytics_overview",
    "analytics_report",
    "analytics_sessions",
]
