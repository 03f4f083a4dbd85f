"""The Django admin site for staff (/admin/): email, password and a TOTP code (docs/staff.md).

Sign-in goes through the same services as the API's admin login (`accounts.mfa.admin_login` then
`admin_verify_mfa`), so there is one TOTP secret per admin (the one enrolled under Settings in the web admin
or with `manage.py staff_enroll_totp`), one lockout counter, one replay guard and the same audit rows.

The Django session is anchored to the API session that the sign-in creates (`AuthSession`, MFA complete): the
site lets a request in only while that session is live, so whatever ends an admin's sessions (suspension,
deletion, MFA disable, logout everywhere) also ends their Django admin session at once.
"""

from django import forms
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.contrib.auth import REDIRECT_FIELD_NAME, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import LoginView
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from accounts.audit import audit_context_from_request
from accounts.roles import Role
from accounts.services.staff_credentials import admin_password_change
from manas360.api.clock import request_now
from staff.second_factor import StaffSignInRefused, staff_session_is_live, staff_sign_in, staff_sign_out

# The Django session key holding the id of the AuthSession this admin-site sign-in opened.
STAFF_AUTH_SESSION_KEY = "staff_auth_session_id"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class StaffLoginForm(forms.Form):
    """Stable field names (the browser test and docs/staff.md rely on them): username, password, otp_token."""

    username = forms.EmailField(label="Email", max_length=254, widget=forms.EmailInput(attrs={"autofocus": True}))
    password = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    otp_token = forms.CharField(
        label="Authentication code",
        max_length=32,
        help_text="The 6-digit code from your authenticator app, or a backup code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user_cache = None
        self.auth_session_id = None
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            user, auth_session_id = staff_sign_in(
                email=cleaned["username"],
                password=cleaned["password"],
                code=cleaned["otp_token"],
                request=self.request,
                now=request_now(self.request),
            )
        except StaffSignInRefused as refused:
            raise forms.ValidationError(refused.message, code=refused.code) from None
        user.backend = MODEL_BACKEND
        self.user_cache = user
        self.auth_session_id = auth_session_id
        return cleaned

    def get_user(self):
        return self.user_cache


class StaffLoginView(LoginView):
    def form_valid(self, form):
        response = super().form_valid(form)  # django.contrib.auth.login: rotates the session key
        self.request.session[STAFF_AUTH_SESSION_KEY] = str(form.auth_session_id)
        return response


class StaffAdminSite(AdminSite):
    site_header = "MANAS360 staff"
    site_title = "MANAS360 staff"
    index_title = "Administration"
    # The admin's LoginView only needs a form built from (request, data) that offers get_user(); the stubs ask
    # for an AuthenticationForm subclass, which would bring username/password checks this form replaces.
    login_form = StaffLoginForm  # type: ignore[assignment]
    login_template = "staff/login.html"

    def has_permission(self, request):
        """Active, not deleted, role admin, is_staff, and a live MFA-complete session from the TOTP sign-in."""
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return False
        if user.role != Role.ADMIN or user.deleted_at is not None:
            return False
        return staff_session_is_live(request=request, user=user, session_id=request.session.get(STAFF_AUTH_SESSION_KEY))

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        """AdminSite.login with our view (it records the anchoring session after django's login)."""
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return StaffLoginView.as_view(
            extra_context=context, authentication_form=self.login_form, template_name=self.login_template
        )(request)

    def password_change(self, request, extra_context=None):
        """Django's form (current password, new one twice, validators), saved through the accounts service:
        audited, and every other session of the admin ends; this Django session and its API session stay."""
        if not self.has_permission(request):
            return self.login(request)
        form = PasswordChangeForm(request.user, request.POST or None)
        if request.method == "POST" and form.is_valid():
            admin_password_change(
                user=request.user,
                new_password=form.cleaned_data["new_password1"],
                actor=request.user,
                via="admin_site",
                now=request_now(request),
                keep_session_id=request.session.get(STAFF_AUTH_SESSION_KEY),
                **audit_context_from_request(request),
            )
            update_session_auth_hash(request, request.user)  # keeps this Django session valid
            messages.success(request, "Your password was changed. Your other sessions have been signed out.")
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "form": form,
            "title": "Password change",
            "subtitle": None,
            **(extra_context or {}),
        }
        request.current_app = self.name
        return TemplateResponse(request, "registration/password_change_form.html", context)

    def logout(self, request, extra_context=None):
        staff_sign_out(session_id=request.session.get(STAFF_AUTH_SESSION_KEY), now=request_now(request))
        return super().logout(request, extra_context)
