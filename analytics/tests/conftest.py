"""A hand-computed data set for the range 2025-03-01 .. 2025-03-07 (both inclusive, UTC).

Expected figures (see test_api.py) follow from these rows only: fixture users (admin, patient)
are created "now", after the range, so they are not counted.
"""

from datetime import UTC, datetime

import pytest

from accounts.tests.factories import UserFactory
from analytics.tests.factories import AnalyticsPaymentFactory, AnalyticsSubscriptionFactory, AssessmentFactory
from rooms.tests.factories import RoomSessionFactory, ThemeFactory

RANGE = {"startDate": "2025-03-01", "endDate": "2025-03-07"}
EMPTY_RANGE = {"startDate": "2024-01-01", "endDate": "2024-01-07"}


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def dataset(db):
    forest = ThemeFactory(slug="forest-walk", title="Forest Walk", category="nature", tier="free")
    ocean = ThemeFactory(slug="ocean-calm", title="Ocean Calm", category="water", tier="premier")

    p1 = UserFactory(created_at=at(10, month=2), email="p1@example.com")  # before the range
    p2 = UserFactory(created_at=at(2), email="p2@example.com")
    p3 = UserFactory(created_at=at(7, 23, 30), email="p3@example.com")  # last evening of the range
    UserFactory(created_at=at(3), email="gone@example.com", deleted_at=at(4))  # deleted: never counted
    t1 = UserFactory(created_at=at(5), role="therapist", email="t1@example.com")

    # In range: 3 sessions, 2 completed (one at 23:30 on the end date).
    RoomSessionFactory(
        completed=True,
        user=p1,
        theme=forest,
        started_at=at(1, 10),
        duration_seconds=600,
        mood_before=4,
        mood_after=7,
        rating=5,
        device_type="web",
    )
    RoomSessionFactory(
        completed=True,
        user=p2,
        theme=forest,
        started_at=at(2, 9),
        status="abandoned",
        duration_seconds=300,
        mood_before=6,
        mood_after=5,
        rating=2,
        device_type="mobile",
    )
    RoomSessionFactory(
        completed=True,
        user=t1,
        theme=ocean,
        started_at=at(7, 23, 30),
        duration_seconds=900,
        mood_before=3,
        mood_after=6,
        device_type="",
    )
    # Just outside the range on both sides.
    RoomSessionFactory(
        completed=True, user=p2, theme=forest, started_at=at(28, 23, 59, 59, month=2), duration_seconds=100, rating=1
    )
    RoomSessionFactory(completed=True, user=p3, theme=ocean, started_at=at(8, 0), duration_seconds=5000, rating=1)

    # PHQ-9: p1 18 -> next post 10 (+8); p2 12 -> 14 (-2); p3 has no post. GAD-7: p1 15 -> 9 (+6).
    AssessmentFactory(user=p1, type="PHQ9", phase="pre", score=18, taken_at=at(1))
    AssessmentFactory(user=p1, type="PHQ9", phase="post", score=10, taken_at=at(5))
    AssessmentFactory(user=p1, type="PHQ9", phase="post", score=8, taken_at=at(6))
    AssessmentFactory(user=p2, type="PHQ9", phase="pre", score=12, taken_at=at(2))
    AssessmentFactory(user=p2, type="PHQ9", phase="post", score=14, taken_at=at(6))
    AssessmentFactory(user=p3, type="PHQ9", phase="pre", score=20, taken_at=at(3))
    AssessmentFactory(user=p1, type="GAD7", phase="pre", score=15, taken_at=at(1))
    AssessmentFactory(user=p1, type="GAD7", phase="post", score=9, taken_at=at(7, 23))
    AssessmentFactory(user=p2, type="GAD7", phase="pre", score=10, taken_at=at(20, month=2))  # pre outside
    AssessmentFactory(user=p2, type="GAD7", phase="post", score=5, taken_at=at(3))
    AssessmentFactory(user=p1, type="PHQ9", phase="pre", score=25, taken_at=at(8))  # after the range

    # Revenue: 29 900 + 9 900 paise; failed, refunded and out-of-range payments do not count.
    AnalyticsPaymentFactory(amount_paise=29900, status="success", completed_at=at(1, 12), user=p1)
    AnalyticsPaymentFactory(amount_paise=9900, status="success", completed_at=at(7, 23, 59), user=p2)
    AnalyticsPaymentFactory(amount_paise=29900, status="failed", created_at=at(2), user=p2)
    AnalyticsPaymentFactory(amount_paise=49900, status="refunded", completed_at=at(3), user=p3)
    AnalyticsPaymentFactory(amount_paise=10000, status="success", completed_at=at(8, 0), user=p3)

    # Started in range: sub2, sub5. Active at the end of the range: sub1, sub2, sub6.
    AnalyticsSubscriptionFactory(user=p1, status="active", start_date=at(15, month=2), end_date=at(17))  # sub1
    AnalyticsSubscriptionFactory(user=p2, status="active", start_date=at(2))  # sub2, lifetime
    AnalyticsSubscriptionFactory(user=p3, expired=True, start_date=at(1, month=1), end_date=at(31, month=1))  # sub3
    AnalyticsSubscriptionFactory(user=t1, status="pending")  # sub4
    AnalyticsSubscriptionFactory(
        user=t1, status="cancelled", start_date=at(3), end_date=at(4), cancelled_at=at(4)
    )  # sub5
    AnalyticsSubscriptionFactory(user=p3, expired=True, start_date=at(10, month=2), end_date=at(10))  # sub6
    return {"forest": forest, "ocean": ocean, "p1": p1, "p2": p2, "p3": p3, "t1": t1}
