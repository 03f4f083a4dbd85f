from django.apps import AppConfig


class RoomsConfig(AppConfig):
    name = "rooms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from rooms import signals  # noqa: F401 - connects the catalogue's invalidation
