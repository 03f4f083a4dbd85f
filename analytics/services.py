from datetime import datetime

from django.db import transaction

from accounts.models import User
from analytics.models import Assessment


@transaction.atomic
def assessment_record(
    *, user: User, type: str, phase: str, score: int, now: datetime, taken_at: datetime | None = None
) -> Assessment:
    """Store one of the user's own questionnaire scores (range enforced by the serializer and a DB constraint)."""
    return Assessment.objects.create(user=user, type=type, phase=phase, score=score, taken_at=taken_at or now)
