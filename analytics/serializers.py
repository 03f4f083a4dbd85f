from django.utils import timezone
from rest_framework import serializers

from analytics.models import SCORE_MAXIMUM, Assessment, AssessmentPhase, AssessmentType

# Accept the spellings people write: "PHQ-9", "phq9", "GAD-7".
_TYPE_ALIASES = {"PHQ9": AssessmentType.PHQ9, "GAD7": AssessmentType.GAD7}
# A clock a little ahead on the client is not an error.
FUTURE_TOLERANCE_SECONDS = 300


class AssessmentCreateSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=10)
    phase = serializers.ChoiceField(choices=AssessmentPhase.choices)
    score = serializers.IntegerField(min_value=0)
    taken_at = serializers.DateTimeField(required=False)

    def validate_type(self, value):
        normalised = value.upper().replace("-", "").replace("_", "").replace(" ", "")
        if normalised not in _TYPE_ALIASES:
            raise serializers.ValidationError("Must be PHQ9 or GAD7.")
        return _TYPE_ALIASES[normalised]

    def validate_taken_at(self, value):
        if (value - timezone.now()).total_seconds() > FUTURE_TOLERANCE_SECONDS:
            raise serializers.ValidationError("Must not be in the future.")
        return value

    def validate(self, attrs):
        maximum = SCORE_MAXIMUM[attrs["type"]]
        if attrs["score"] > maximum:
            raise serializers.ValidationError({"score": [f"A {attrs['type']} score is between 0 and {maximum}."]})
        return attrs


class AssessmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Assessment
        fields = ["id", "type", "phase", "score", "taken_at", "created_at"]
        read_only_fields = fields
