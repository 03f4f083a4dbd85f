from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # accounts builds the profile and must not import subscriptions: it asks us for our section.
        # Imported here, not at the top: models are not ready when this module is imported.
        from accounts.selectors import profile_section_register  # noqa: PLC0415
        from subscriptions.selectors import subscription_summary  # noqa: PLC0415

        profile_section_register("subscription", subscription_summary)
