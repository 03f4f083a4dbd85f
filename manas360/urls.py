from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from manas360 import health
from manas360.home import home

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("subscriptions.urls")),
    path("", include("payments.urls")),
    path("", include("autopay.urls")),
    path("", include("rooms.urls")),
    path("", include("analytics.urls")),
    path("", include("staff.urls")),
]

urlpatterns = [
    path("", home, name="home"),
    path("payments/", include("payments.page_urls")),  # the development payment-result page
    path("health", health.health, name="health"),
    path("health/db", health.health_db, name="health-db"),
    path("health/ready", health.health_ready, name="health-ready"),
    path("metrics", health.metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/v1/", include(api_v1)),
    path("admin/analytics/", include("analytics.admin_urls")),  # analytics page, before the admin catch-all
    path("admin/", admin.site.urls),
]
