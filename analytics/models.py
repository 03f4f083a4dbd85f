import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

# Score ranges of the validated questionnaires (PHQ-9: 9 items x 0-3; GAD-7: 7 items x 0-3).
SCORE_MAXIMUM = {"PHQ9": 27, "GAD7": 21}


class AssessmentType(models.TextChoices):
    PHQ9 = "PHQ9", "PHQ-9 (depression, 0-27)"
    GAD7 = "GAD7", "GAD-7 (anxiety, 0-21)"


class AssessmentPhase(models.TextChoices):
    PRE = "pre", "Before a programme"
    POST = "post", "After a programme"


class Assessment(models.Model):
    """One self-reported PHQ-9 or GAD-7 score. Lower is better for both.

    Outcome analytics pair each `pre` score with the same user's next `post` score
    of the same type (docs/analytics.md).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assessments")
    type = models.CharField(max_length=8, choices=AssessmentType.choices)
    phase = models.CharField(max_length=4, choices=AssessmentPhase.choices)
    score = models.PositiveSmallIntegerField()
    taken_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_at"]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=AssessmentType.values), name="assessment_type_valid"),
            models.CheckConstraint(condition=Q(phase__in=AssessmentPhase.values), name="assessment_phase_valid"),
            models.CheckConstraint(
                condition=(Q(type="PHQ9") & Q(score__gte=0, score__lte=27))
                | (Q(type="GAD7") & Q(score__gte=0, score__lte=21)),
                name="assessment_score_in_range_for_type",
            ),
        ]
        indexes = [models.Index(fields=["user", "type", "taken_at"], name="assessment_user_type_time_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.phase} {self.score} ({self.user_id})"
