from django.contrib.admin import AdminSite


class StaffAdminSite(AdminSite):
    site_header = "MANAS360 staff"
