"""Shared Django admin behaviour with no domain in it: read-only records.

The audited-writes mixin lives next to the audit log, in `accounts/admin_mixins.py`.
"""

from django.contrib import admin


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Rows that only services write (money, history, security records): staff can look, not touch."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
