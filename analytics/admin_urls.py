"""Mounted at /admin/analytics/ by manas360/urls.py, before the admin site's own catch-all."""

from django.contrib import admin
from django.urls import path

from analytics import admin_views

urlpatterns = [
    path("", admin.site.admin_view(admin_views.analytics_page), name="admin-analytics"),
    path(
        "export.<str:file_format>",
        admin.site.admin_view(admin_views.analytics_export),
        name="admin-analytics-export",
    ),
]
