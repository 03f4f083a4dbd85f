from django.urls import path

from payments import views

urlpatterns = [
    path("payments/create", views.PaymentCreateView.as_view(), name="payment-create"),
    path("payments/webhook", views.PaymentWebhookView.as_view(), name="payment-webhook"),
    path("payments/<str:transaction_id>", views.PaymentDetailView.as_view(), name="payment-detail"),
    path("payments", views.PaymentListView.as_view(), name="payment-list"),
    path("admin/payments/<str:payment_id>/refund", views.AdminPaymentRefundView.as_view(), name="admin-payment-refund"),
]
