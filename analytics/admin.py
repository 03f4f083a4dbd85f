from django.contrib import admin

from analytics.models import Assessment
from manas360.admin_mixins import ReadOnlyModelAdmin


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyModelAdmin):
    """Self-reported scores: staff may look, nobody edits them here (they are the user's own answers)."""

    list_display = ("taken_at", "user", "type", "phase", "score")
    list_filter = ("type", "phase")
    search_fields = ("user__email", "user__phone_number")
    date_hierarchy = "taken_at"
    list_select_related = ("user",)
    readonly_fields = ("id", "user", "type", "phase", "score", "taken_at", "created_at")
