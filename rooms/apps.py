from django.apps import AppConfig


class RoomsConfig(AppConfig):
    name = "rooms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rooms import signals  # noqa: F401, PLC0415 - connects the catalogue's invalidation; models must be ready
