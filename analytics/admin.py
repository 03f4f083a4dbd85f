from django.contrib import admin

from analytics.models import Assessment


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    """Self-reported scores: staff may look, nobody edits them here (they are the user's own answers)."""

    list_display = ("taken_at", "user", "type", "phase", "score")
    list_filter = ("type", "phase")
    search_fields = ("user__email", "user__phone_number")
    date_hierarchy = "taken_at"
    list_select_related = ("user",)
    readonly_fields = ("id", "user", "type", "phase", "score", "taken_at", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
