from django.urls import path

from accounts import views

urlpatterns = [
    path("auth/send-otp", views.SendOtpView.as_view(), name="auth-send-otp"),
    path("auth/verify-otp", views.VerifyOtpView.as_view(), name="auth-verify-otp"),
    path("auth/login", views.VerifyOtpView.as_view(), name="auth-login"),
    path("auth/admin-login", views.AdminLoginView.as_view(), name="auth-admin-login"),
    path("auth/admin-login/verify-mfa", views.AdminVerifyMfaView.as_view(), name="auth-admin-verify-mfa"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("admin/mfa/status", views.MfaStatusView.as_view(), name="admin-mfa-status"),
    path("admin/mfa/generate-secret", views.MfaGenerateSecretView.as_view(), name="admin-mfa-generate-secret"),
    path("admin/mfa/enable", views.MfaEnableView.as_view(), name="admin-mfa-enable"),
    path("admin/mfa/disable", views.MfaDisableView.as_view(), name="admin-mfa-disable"),
    path("users/me", views.MeView.as_view(), name="users-me"),
    path("users/me/email-change", views.EmailChangeView.as_view(), name="users-me-email-change"),
    path("users/me/email-change/confirm", views.EmailChangeConfirmView.as_view(), name="users-me-email-change-confirm"),
    path("users/<str:user_id>", views.UserDetailView.as_view(), name="users-detail"),
]
