from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from accounts.tests.factories import UserFactory
from analytics.models import Assessment
from analytics.tests.factories import AssessmentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/analytics/assessments"


def test_user_records_an_assessment(auth_client, user):
    response = auth_client.post(
        URL, {"type": "PHQ-9", "phase": "pre", "score": 14, "takenAt": "2026-01-02T10:00:00Z"}, format="json"
    )
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert (data["type"], data["phase"], data["score"], data["takenAt"]) == ("PHQ9", "pre", 14, "2026-01-02T10:00:00Z")
    stored = Assessment.objects.get()
    assert stored.user == user
    assert stored.taken_at == datetime(2026, 1, 2, 10, tzinfo=UTC)


def test_taken_at_defaults_to_now(auth_client):
    response = auth_client.post(URL, {"type": "GAD7", "phase": "post", "score": 0}, format="json")
    assert response.status_code == 201
    assert abs(Assessment.objects.get().taken_at - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "body",
    [
        {"type": "PHQ9", "phase": "pre", "score": 28},
        {"type": "GAD7", "phase": "pre", "score": 22},
        {"type": "GAD7", "phase": "pre", "score": -1},
        {"type": "PSS10", "phase": "pre", "score": 3},
        {"type": "PHQ9", "phase": "during", "score": 3},
        {"type": "PHQ9", "phase": "pre"},
        {"type": "PHQ9", "phase": "pre", "score": 3, "takenAt": "2999-01-01T00:00:00Z"},
    ],
)
def test_invalid_assessment_is_400_and_writes_nothing(auth_client, body):
    response = auth_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not Assessment.objects.exists()


def test_boundary_scores_are_accepted(auth_client):
    assert auth_client.post(URL, {"type": "PHQ9", "phase": "pre", "score": 27}, format="json").status_code == 201
    assert auth_client.post(URL, {"type": "GAD7", "phase": "pre", "score": 21}, format="json").status_code == 201


def test_anonymous_cannot_record(api_client):
    response = api_client.post(URL, {"type": "PHQ9", "phase": "pre", "score": 3}, format="json")
    assert response.status_code == 401
    assert not Assessment.objects.exists()


def test_list_shows_only_own_assessments(auth_client, user):
    AssessmentFactory(user=user, type="PHQ9", phase="pre", score=9, taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    other = UserFactory(created_at=datetime(2026, 1, 1, tzinfo=UTC), email="other@example.com")
    AssessmentFactory(user=other, type="PHQ9", phase="pre", score=20, taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    body = auth_client.get(URL).json()
    assert [row["score"] for row in body["data"]] == [9]
    assert body["pagination"]["total"] == 1


@pytest.mark.parametrize(("kind", "score"), [("PHQ9", 28), ("GAD7", 22), ("GAD7", 27)])
def test_database_refuses_out_of_range_scores(user, kind, score):
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.create(user=user, type=kind, phase="pre", score=score, taken_at=datetime.now(UTC))
