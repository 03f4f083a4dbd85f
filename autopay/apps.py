from django.apps import AppConfig


class AutopayConfig(AppConfig):
    name = "autopay"
    verbose_name = "Autopay (UPI mandates)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from autopay.webhooks import register

        register()
