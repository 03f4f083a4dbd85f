from django.apps import AppConfig


class AutopayConfig(AppConfig):
    name = "autopay"
    verbose_name = "Autopay (UPI mandates)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: models are not ready when this module is imported.
        from accounts.departures import user_departure_register  # noqa: PLC0415
        from autopay.audit import RedemptionSource  # noqa: PLC0415
        from autopay.metrics import collect  # noqa: PLC0415
        from autopay.services import mandates_end_for_user  # noqa: PLC0415
        from autopay.webhooks import register  # noqa: PLC0415
        from manas360.metrics import collector_register  # noqa: PLC0415
        from payments.api import audit_source_register  # noqa: PLC0415

        # Payments hands us PhonePe's subscription.* callbacks (payments/webhook_handlers.py): explicit, no signals.

        register()
        # A deleted or suspended account is charged no more: its mandates end with it (accounts/departures.py).
        user_departure_register("autopay", mandates_end_for_user)
        # Payments' audit with PhonePe checks our redemptions through us (payments/audit.py).
        audit_source_register(RedemptionSource())
        collector_register("autopay", collect)
