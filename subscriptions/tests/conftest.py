import io

import pytest

from subscriptions import seed
from subscriptions.models import Plan


@pytest.fixture
def plans(db):
    """The seeded reference plans, by code."""
    seed.run(stdout=io.StringIO(), demo_accounts=False)
    return {plan.code: plan for plan in Plan.objects.all()}
