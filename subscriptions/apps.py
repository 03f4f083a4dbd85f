from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: models are not ready when this module is imported.
        from accounts.selectors import profile_section_register  # noqa: PLC0415
        from payments.fulfilment import register  # noqa: PLC0415
        from subscriptions.fulfilment import PlanProduct  # noqa: PLC0415
        from subscriptions.serializers import profile_subscription  # noqa: PLC0415

        # accounts builds the profile and must not import subscriptions: it asks us for our section.
        profile_section_register("subscription", profile_subscription)
        # Payments asks the app that sells a product to fulfil what a payment bought (payments/fulfilment.py):
        # explicit registration, no signals. Plans are what `POST /payments/create {planId}` sells.
        register(PlanProduct(), checkout=True)
