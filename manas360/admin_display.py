"""Column helpers for admin list views: amounts in rupees, short ids (what staff scan for, not raw storage)."""

from django.contrib import admin

from manas360.money import format_rupees

SHORT_ID_LENGTH = 8


def short_id(value) -> str:
    """`3f2a9c1e-5b...` -> `3f2a9c1e…`, `M360_9d0c44e1ab...` -> `M360_9d0c44e1…`: enough to tell rows apart on a
    page (search finds a row by its full id; the change page shows it)."""
    prefix, separator, rest = str(value or "").rpartition("_")
    if len(rest) <= SHORT_ID_LENGTH:
        return f"{prefix}{separator}{rest}"
    return f"{prefix}{separator}{rest[:SHORT_ID_LENGTH]}…"


def rupees_column(field: str, *, description: str = "Amount"):
    """A list_display column showing a paise field as `₹299.00`, sortable by the underlying column."""

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        return format_rupees(getattr(obj, field))

    column.__name__ = f"{field}_rupees"
    return column


def short_id_column(field: str = "pk", *, description: str = "ID"):
    """A list_display column with the first characters of a long id (UUID, gateway order id)."""

    @admin.display(description=description, ordering=None if field == "pk" else field)
    def column(self, obj):
        return short_id(getattr(obj, field))

    column.__name__ = f"short_{field}"
    return column
