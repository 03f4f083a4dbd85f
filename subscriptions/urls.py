from django.urls import path

from subscriptions import views

urlpatterns = [
    path("subscriptions/plans", views.PlanListView.as_view(), name="subscription-plans"),
    path("subscriptions/current", views.CurrentSubscriptionView.as_view(), name="subscription-current"),
    path("subscriptions/active", views.ActiveSubscriptionView.as_view(), name="subscription-active"),
    path("subscriptions/cancel", views.SubscriptionCancelView.as_view(), name="subscription-cancel"),
    path("subscriptions/upgrade", views.SubscriptionUpgradeView.as_view(), name="subscription-upgrade"),
    path(
        "subscriptions/<str:subscription_id>/cancel",
        views.SubscriptionCancelByIdView.as_view(),
        name="subscription-cancel-by-id",
    ),
    path("subscriptions", views.SubscriptionHistoryView.as_view(), name="subscription-list"),
]
