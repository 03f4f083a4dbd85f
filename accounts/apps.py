from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # In ready(): the extension module imports the authentication class, which needs the models loaded.
        from accounts import schema  # noqa: F401, PLC0415 - registers the OpenAPI authentication extension
