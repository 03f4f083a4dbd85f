"""Admin REST API routes (docs/api.md §7). /admin/mfa/* is in accounts, /admin/payments/:id/refund in payments and
/admin/analytics/dashboard in analytics."""

from django.urls import path

from staff import views

urlpatterns = [
    path("admin/users", views.AdminUserListView.as_view(), name="admin-users"),
    path("admin/users/<str:user_id>", views.AdminUserDetailView.as_view(), name="admin-user-detail"),
    path("admin/users/<str:user_id>/suspend", views.AdminUserSuspendView.as_view(), name="admin-user-suspend"),
    path("admin/therapists", views.AdminTherapistListView.as_view(), name="admin-therapists"),
    path(
        "admin/therapists/<str:user_id>/verify",
        views.AdminTherapistVerifyView.as_view(),
        name="admin-therapist-verify",
    ),
    path("admin/subscriptions", views.AdminSubscriptionListView.as_view(), name="admin-subscriptions"),
    path(
        "admin/subscriptions/<str:subscription_id>/cancel",
        views.AdminSubscriptionCancelView.as_view(),
        name="admin-subscription-cancel",
    ),
    path("admin/payments", views.AdminPaymentListView.as_view(), name="admin-payments"),
    path("admin/metrics", views.AdminMetricsView.as_view(), name="admin-metrics"),
    path("admin/audit-logs", views.AdminAuditLogListView.as_view(), name="admin-audit-logs"),
]
