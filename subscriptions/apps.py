from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Payments asks the owning app to fulfil what a payment bought (payments/fulfilment.py); explicit, no signals.
        from payments.fulfilment import register
        from subscriptions.fulfilment import PlanProduct

        register(PlanProduct())
