from django.urls import path

from autopay import views

urlpatterns = [
    path("subscriptions/autopay", views.AutopayView.as_view(), name="subscription-autopay"),
]
