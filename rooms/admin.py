from django.contrib import admin
from django.db import models
from django.utils.html import format_html, format_html_join

from accounts.admin_mixins import AuditedModelAdmin
from manas360.admin_display import short_id_column
from manas360.admin_mixins import ReadOnlyModelAdmin
from rooms.models import RoomSession, Theme


def _media_links(items) -> str:
    rows = [
        (item.get("url", ""), item.get("title") or item.get("url", ""))
        for item in items or []
        if isinstance(item, dict) and str(item.get("url", "")).startswith(("https://", "http://"))
    ]
    if not rows:
        return "—"
    return format_html(
        "<ul>{}</ul>",
        format_html_join("", '<li><a href="{}" target="_blank" rel="noopener noreferrer">{}</a></li>', rows),
    )


@admin.register(Theme)
class ThemeAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "slug",
        "title",
        "tier",
        "category",
        "is_real_ar",
        "is_active",
        "display_order",
        "session_count",
        "rating_count",
        "average_rating",
    )
    list_filter = ("tier", "category", "is_active", "is_real_ar")
    list_editable = ("is_active", "display_order")
    search_fields = ("slug", "title", "description", "category")
    ordering = ("display_order", "title")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = (
        "uuid",
        "thumbnail_preview",
        "media_preview",
        "session_count",
        "rating_count",
        "rating_sum",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("slug", "uuid", "title", "description", "category", "tier", "icon", "is_real_ar")}),
        ("Media", {"fields": ("thumbnail_url", "thumbnail_preview", "videos", "audio_tracks", "media_preview")}),
        ("Guidance", {"fields": ("benefits", "instructions", "duration_seconds")}),
        ("Publishing", {"fields": ("is_active", "display_order")}),
        ("Usage (kept by the session service)", {"fields": ("session_count", "rating_count", "rating_sum")}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="Thumbnail")
    def thumbnail_preview(self, obj):
        if not obj.thumbnail_url or not obj.thumbnail_url.startswith(("https://", "http://")):
            return "—"
        return format_html(
            '<img src="{}" alt="{}" style="max-width:240px;max-height:160px;border-radius:6px">',
            obj.thumbnail_url,
            obj.title,
        )

    @admin.display(description="Media links")
    def media_preview(self, obj):
        return format_html(
            "<strong>Videos</strong>{}<strong>Audio</strong>{}",
            _media_links(obj.videos),
            _media_links(obj.audio_tracks),
        )

    @admin.display(description="Rating")
    def average_rating(self, obj):
        return obj.average_rating


@admin.register(RoomSession)
class RoomSessionAdmin(ReadOnlyModelAdmin):
    list_display = ("status", "user", "theme", "started_at", "duration_seconds", "rating", "points", "short_id")
    list_display_links = ("status", "short_id")
    list_filter = ("status", "theme__tier", "theme")
    list_select_related = ("user", "theme")
    search_fields = ("id", "user__email", "user__phone_number", "theme__slug")
    date_hierarchy = "started_at"
    ordering = ("-started_at",)
    raw_id_fields = ("user",)
    # Sessions are written by the API's services (counters, points); the admin only reads them.
    readonly_fields = [field.name for field in RoomSession._meta.fields]

    short_id = short_id_column("pk")
