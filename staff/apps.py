from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps  # a module, so Django sees one default AppConfig here


class StaffConfig(AppConfig):
    """The staff surface: the admin REST API and the Django admin site. Owns no models."""

    name = "staff"
    default = True


class StaffAdminConfig(admin_apps.AdminConfig):
    """Replaces `django.contrib.admin` in INSTALLED_APPS so `admin.site` is the TOTP-protected staff site."""

    default = False
    default_site = "staff.admin_site.StaffAdminSite"
