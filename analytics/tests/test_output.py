"""The output serializers answer exactly what the selectors computed: every key (none dropped, none added), every
value unchanged, in the same order. A selector that gains a key fails here until its serializer declares it."""

import json
from datetime import date

import pytest
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from analytics import selectors
from analytics import serializers as output
from analytics.dates import DateRange
from analytics.tests.conftest import EMPTY_RANGE, RANGE

pytestmark = pytest.mark.django_db


def _range(params) -> DateRange:
    return DateRange(
        start=date.fromisoformat(params["startDate"]), end=date.fromisoformat(params["endDate"]), period="custom"
    )


def _json(value) -> str:
    return json.dumps(value, cls=JSONEncoder)  # key order kept: the comparison covers it


CASES = [
    (output.OverviewOutput, selectors.analytics_overview, {}),
    (output.SessionsOutput, selectors.analytics_sessions, {}),
    (output.OutcomesOutput, selectors.analytics_outcomes, {}),
    (output.DashboardOutput, selectors.analytics_dashboard, {}),
    *(
        (output.ReportOutput, selectors.analytics_report, {"report_type": report_type, "group_by": group_by})
        for report_type in selectors.REPORT_TYPES
        for group_by in selectors.GROUP_BY_CHOICES
    ),
]

# The selectors that count what is active "now" (subscriptions) take the caller's now.
NEEDS_NOW = {selectors.analytics_overview, selectors.analytics_dashboard}


@pytest.mark.parametrize("params", [RANGE, EMPTY_RANGE], ids=["with-data", "empty"])
@pytest.mark.parametrize(("serializer", "selector", "kwargs"), CASES)
def test_output_is_the_selectors_answer(dataset, params, serializer, selector, kwargs):
    if selector in NEEDS_NOW:
        kwargs = {**kwargs, "now": timezone.now()}
    computed = selector(date_range=_range(params), **kwargs)
    assert _json(serializer(computed).data) == _json(computed)


def test_every_report_type_has_a_row_shape():
    assert set(output.REPORT_ROWS) == set(selectors.REPORT_TYPES)
