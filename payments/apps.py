from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: models are not ready when this module is imported.
        from manas360.metrics import collector_register  # noqa: PLC0415
        from payments.metrics import collect  # noqa: PLC0415

        collector_register("payments", collect)
