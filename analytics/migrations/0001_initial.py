import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Assessment",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                (
                    "type",
                    models.CharField(
                        choices=[("PHQ9", "PHQ-9 (depression, 0-27)"), ("GAD7", "GAD-7 (anxiety, 0-21)")],
                        max_length=8,
                    ),
                ),
                (
                    "phase",
                    models.CharField(
                        choices=[("pre", "Before a programme"), ("post", "After a programme")], max_length=4
                    ),
                ),
                ("score", models.PositiveSmallIntegerField()),
                ("taken_at", models.DateTimeField(db_index=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="assessments",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-taken_at"],
                "indexes": [
                    models.Index(fields=["user", "type", "taken_at"], name="assessment_user_type_time_idx")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("type__in", ["PHQ9", "GAD7"])), name="assessment_type_valid"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("phase__in", ["pre", "post"])), name="assessment_phase_valid"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("type", "PHQ9"), ("score__gte", 0), ("score__lte", 27)),
                            models.Q(("type", "GAD7"), ("score__gte", 0), ("score__lte", 21)),
                            _connector="OR",
                        ),
                        name="assessment_score_in_range_for_type",
                    ),
                ],
            },
        ),
    ]
