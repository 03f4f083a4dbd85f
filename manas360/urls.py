from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from manas360 import health
from manas360.home import home

# Django tries these in order, and every include it enters and leaves without a match costs a scan of that
# include's patterns. The routes never overlap between apps, so the order is free: the most requested first
# (the catalogue, then sign-in and /users/me, docs/performance.md).
api_v1 = [
    path("", include("rooms.urls")),
    path("", include("accounts.urls")),
    path("", include("subscriptions.urls")),
    path("", include("autopay.urls")),
    path("", include("payments.urls")),
    path("", include("analytics.urls")),
    path("", include("staff.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),  # nearly every request: tried first
    path("", home, name="home"),
    path("payments/", include("payments.page_urls")),  # the development payment-result page
    path("health", health.health, name="health"),
    path("health/db", health.health_db, name="health-db"),
    path("health/ready", health.health_ready, name="health-ready"),
    path("metrics", health.metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("admin/analytics/", include("analytics.admin_urls")),  # analytics page, before the admin catch-all
    path("admin/", admin.site.urls),
]
