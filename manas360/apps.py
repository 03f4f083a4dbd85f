from django.apps import AppConfig
from django.conf import settings

from manas360 import observability


class Manas360Config(AppConfig):
    name = "manas360"
    verbose_name = "MANAS360"

    def ready(self):
        """Optional error tracking and tracing, once per process (each server worker; off unless configured)."""
        observability.configure_error_tracking(
            dsn=settings.SENTRY_DSN,
            environment=settings.SENTRY_ENVIRONMENT,
            release=settings.VERSION,
            traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        )
        observability.configure_tracing(
            endpoint=settings.OTEL_EXPORTER_OTLP_ENDPOINT,
            service_name=settings.OTEL_SERVICE_NAME,
            release=settings.VERSION,
        )
