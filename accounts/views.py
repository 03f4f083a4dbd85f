"""Auth, admin MFA and user profile endpoints (docs/api.md §2, §3, §7 MFA). Thin: validate, call a service, answer."""

from urllib.parse import urlsplit

import jwt
from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.views import APIView

from accounts import mfa, otp
from accounts.audit import audit_context_from_request
from accounts.authentication import ACCESS_COOKIE, REFRESH_COOKIE, csrf_header_matches
from accounts.cookies import clear_auth_cookies, set_access_cookie, set_auth_cookies
from accounts.errors import CsrfFailed, OriginNotAllowed
from accounts.identifiers import identifier_from_data
from accounts.models import AuthSession
from accounts.permissions import IsAdmin
from accounts.selectors import profile_sections, user_get_visible, user_payload
from accounts.services import user_soft_delete, user_update
from accounts.sessions import (
    session_for_refresh_token,
    session_refresh,
    session_reissue_access,
    session_revoke,
    session_start,
    sessions_revoke_for_user,
)
from manas360.api.errors import ApplicationError, Unauthorized
from manas360.api.responses import success_response
from manas360.api.throttling import (
    AdminLoginIpThrottle,
    AnonymousRateThrottle,
    SendOtpIdentifierThrottle,
    SendOtpIpThrottle,
    UserRateThrottle,
    VerifyMfaIpThrottle,
    VerifyOtpIdentifierThrottle,
)


def _any():
    """A fresh field per schema property: one shared instance would be re-bound to each name in turn and
    collapse an inline serializer's properties into one (the schema showed send-otp with only `email`)."""
    return serializers.JSONField(required=False)


def _body(request) -> dict:
    return request.data if isinstance(request.data, dict) else {}


def _signed_in_response(request, *, user, issued, message: str, status: int = 200, **extra_data):
    """The verify-otp / verify-mfa answer (docs/api.md §2): top `user`, `data.user`, `data.tokens`, `csrfToken`."""
    payload = user_payload(user, permissions=issued.permissions)
    response = success_response(
        {"user": payload, "tokens": issued.as_body(), **extra_data},
        message=message,
        status=status,
        user=payload,
        csrf_token=issued.csrf_token,
    )
    set_auth_cookies(
        response, access_token=issued.access_token, refresh_token=issued.refresh_token, csrf_token=issued.csrf_token
    )
    return response


class _PublicAuthView(APIView):
    """Sign-in endpoints ignore any (possibly stale) auth cookie: they are how a session starts."""

    authentication_classes = []
    permission_classes = [AllowAny]


class SendOtpView(_PublicAuthView):
    throttle_classes = [AnonymousRateThrottle, SendOtpIpThrottle, SendOtpIdentifierThrottle]

    @extend_schema(
        request=inline_serializer("SendOtpRequest", {"phone_number": _any(), "phone": _any(), "email": _any()}),
        responses=inline_serializer("SendOtpResponse", {"otp_id": _any(), "channel": _any(), "expires_in": _any()}),
    )
    def post(self, request):
        identifier = identifier_from_data(_body(request))
        context = audit_context_from_request(request)
        sent = otp.otp_send(identifier=identifier, ip_address=context["ip_address"])
        data = {
            "otp_id": sent.otp_id,
            "channel": sent.channel,
            "expires_in": sent.expires_in,
            "resend_in": sent.resend_in,
        }
        if sent.dev_code is not None:
            data["dev_otp"] = sent.dev_code
        return success_response(data, message="If the number or email can receive messages, a code is on its way.")


class VerifyOtpView(_PublicAuthView):
    throttle_classes = [AnonymousRateThrottle, VerifyOtpIdentifierThrottle]

    @extend_schema(
        request=inline_serializer("VerifyOtpRequest", {"phone_number": _any(), "email": _any(), "otp": _any()}),
        responses=inline_serializer("VerifyOtpResponse", {"user": _any(), "tokens": _any(), "is_new_user": _any()}),
    )
    def post(self, request):
        body = _body(request)
        identifier = identifier_from_data(body)
        verified = otp.otp_verify(identifier=identifier, code=body.get("otp"))
        context = audit_context_from_request(request)
        issued = session_start(user=verified.user, **context)
        return _signed_in_response(
            request,
            user=verified.user,
            issued=issued,
            message="Signed up." if verified.is_new_user else "Signed in.",
            is_new_user=verified.is_new_user,
        )


class AdminLoginView(_PublicAuthView):
    throttle_classes = [AnonymousRateThrottle, AdminLoginIpThrottle]

    @extend_schema(
        request=inline_serializer("AdminLoginRequest", {"email": _any(), "password": _any()}),
        responses=inline_serializer("AdminLoginResponse", {"mfa_required": _any(), "mfa_token": _any()}),
    )
    def post(self, request):
        body = _body(request)
        result = mfa.admin_login(
            email=body.get("email"), password=body.get("password"), **audit_context_from_request(request)
        )
        if result.mfa_token is not None:
            data = {"mfa_required": True, "mfa_token": result.mfa_token, "expires_in": settings.MFA_TOKEN_TTL_SECONDS}
            return success_response(
                data,
                message="Enter the code from your authenticator app.",
                mfa_required=True,
                mfa_token=result.mfa_token,
            )
        response = _signed_in_response(
            request,
            user=result.user,
            issued=result.issued,
            message="Set up multi-factor authentication to use the admin area.",
            mfa_required=False,
            mfa_enrollment_required=True,
        )
        response.data.update({"mfa_required": False, "mfa_enrollment_required": True})
        return response


class AdminVerifyMfaView(_PublicAuthView):
    throttle_classes = [AnonymousRateThrottle, VerifyMfaIpThrottle]

    @extend_schema(
        request=inline_serializer("VerifyMfaRequest", {"mfa_token": _any(), "mfa_code": _any()}),
        responses=inline_serializer("VerifyMfaResponse", {"user": _any(), "tokens": _any()}),
    )
    def post(self, request):
        body = _body(request)
        issued = mfa.admin_verify_mfa(
            mfa_token=body.get("mfa_token"), mfa_code=body.get("mfa_code"), **audit_context_from_request(request)
        )
        return _signed_in_response(request, user=issued.session.user, issued=issued, message="Signed in.")


def _origin_allowed(request) -> bool:
    origin = request.headers.get("Origin")
    if not origin:
        return True
    if origin in settings.CORS_ALLOWED_ORIGINS:
        return True
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.scheme}://{request.get_host()}"


class RefreshView(_PublicAuthView):
    """Body token (`refreshToken`) or the `refresh_token` cookie. No CSRF header (the web app sends none),
    but a present Origin must be allowed."""

    @extend_schema(
        request=inline_serializer("RefreshRequest", {"refresh_token": _any()}),
        responses=inline_serializer("RefreshResponse", {"expires_in": _any(), "tokens": _any()}),
    )
    def post(self, request):
        if not _origin_allowed(request):
            raise OriginNotAllowed()
        body_token = _body(request).get("refresh_token")
        from_cookie = not body_token
        raw = request.COOKIES.get(REFRESH_COOKIE, "") if from_cookie else body_token
        if not raw or not isinstance(raw, str):
            raise Unauthorized("No refresh token was sent.")
        try:
            issued = session_refresh(raw_token=raw, **audit_context_from_request(request))
        except ApplicationError as exc:
            if from_cookie and exc.status_code == 401:
                # The session is over: drop the cookies so the browser stops presenting them.
                response = self.handle_exception(exc)
                clear_auth_cookies(response)
                return response
            raise
        if from_cookie:
            response = success_response({"expires_in": issued.expires_in})
            set_auth_cookies(
                response,
                access_token=issued.access_token,
                refresh_token=issued.refresh_token,
                csrf_token=issued.csrf_token,
            )
            return response
        return success_response({"tokens": issued.as_body(), "expires_in": issued.expires_in})


class LogoutView(_PublicAuthView):
    """Ends the session of the presented access token (even an expired one) or refresh token.

    Cookie requests must pass the CSRF double-submit check. `{"allDevices": true}` ends all of the user's
    sessions. Always clears the three cookies.
    """

    @extend_schema(
        request=inline_serializer("LogoutRequest", {"all_devices": _any(), "refresh_token": _any()}), responses=None
    )
    def post(self, request):
        body = _body(request)
        session = None
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, raw_access = header.partition(" ")
            raw_access = raw_access.strip() if scheme.lower() == "bearer" else ""
        else:
            raw_access = request.COOKIES.get(ACCESS_COOKIE, "")
            cookie_based = bool(raw_access or request.COOKIES.get(REFRESH_COOKIE))
            if cookie_based and not csrf_header_matches(request):
                raise CsrfFailed()
        if raw_access:
            session = _session_from_access_token(raw_access)
        if session is None:
            refresh = body.get("refresh_token") if isinstance(body.get("refresh_token"), str) else None
            session = session_for_refresh_token(refresh or request.COOKIES.get(REFRESH_COOKIE, ""))
        if session is not None and session.revoked_at is None:
            # Only a live session may end the others: a token of an ended session signs nobody out.
            if body.get("all_devices") is True:
                sessions_revoke_for_user(user=session.user, reason="logout_all")
            else:
                session_revoke(session_id=session.pk, reason="logout")
        response = success_response(None, message="Signed out.")
        clear_auth_cookies(response)
        return response


def _session_from_access_token(raw: str):
    """The session an access token names, verifying its signature and type but not its expiry:
    logging out must work after the access token has lapsed."""
    try:
        claims = jwt.decode(
            raw,
            settings.SIMPLE_JWT["SIGNING_KEY"],
            algorithms=[settings.SIMPLE_JWT["ALGORITHM"]],
            options={"verify_exp": False},
        )
    except jwt.InvalidTokenError:
        return None
    if claims.get("token_type") != "access" or not claims.get("sid"):
        return None
    return AuthSession.objects.select_related("user").filter(pk=claims["sid"], user_id=claims.get("sub")).first()


# --- Admin MFA enrolment (reachable from the restricted admin session) ---------------------------------------


def _session_of(request):
    return getattr(request.auth, "session", None)


class MfaStatusView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=inline_serializer("MfaStatus", {"mfa_enabled": _any()}))
    def get(self, request):
        return success_response(mfa.mfa_status(user=request.user))


class MfaGenerateSecretView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=inline_serializer("MfaSecret", {"secret": _any(), "qr_code": _any()}))
    def post(self, request):
        return success_response(
            mfa.mfa_generate_secret(user=request.user), message="Scan the QR code, then confirm a code."
        )


class MfaEnableView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=inline_serializer("MfaEnable", {"secret": _any(), "mfa_code": _any()}), responses=None)
    def post(self, request):
        body = _body(request)
        session = _session_of(request)
        mfa.mfa_enable(
            user=request.user,
            session=session,
            mfa_code=body.get("mfa_code"),
            secret=body.get("secret"),
            **audit_context_from_request(request),
        )
        response = success_response({"mfa_enabled": True}, message="Multi-factor authentication is on.")
        if session is not None and request.COOKIES.get(ACCESS_COOKIE) and not request.headers.get("Authorization"):
            set_access_cookie(response, access_token=session_reissue_access(session=session))
        return response


class MfaDisableView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=inline_serializer("MfaDisable", {"mfa_code": _any(), "password": _any()}), responses=None)
    def post(self, request):
        body = _body(request)
        mfa.mfa_disable(
            user=request.user,
            session=_session_of(request),
            mfa_code=body.get("mfa_code"),
            password=body.get("password"),
            **audit_context_from_request(request),
        )
        return success_response({"mfa_enabled": False}, message="Multi-factor authentication is off.")


# --- Users (docs/api.md §3) ------------------------------------------------------------------------------------------


def _profile_response(user, *, with_subscription: bool = True):
    payload = user_payload(user)
    if with_subscription:
        payload.update(profile_sections(user=user))
    return success_response(payload, user=payload)


class _UserDetailBase(APIView):
    # Subclasses define get_target(request, user_id): the user this request reads, updates or
    # deletes, already permission-checked. (No docstring here: it would become every
    # subclass's OpenAPI description.)
    permission_classes = [IsAuthenticated]
    throttle_classes = [AnonymousRateThrottle, UserRateThrottle]

    @extend_schema(responses=inline_serializer("UserProfile", {"id": _any(), "email": _any(), "subscription": _any()}))
    def get(self, request, user_id=None):
        return _profile_response(self.get_target(request, user_id))

    @extend_schema(
        request=inline_serializer("UserProfileUpdate", {"first_name": _any(), "last_name": _any(), "email": _any()}),
        responses=inline_serializer("UserProfileUpdated", {"id": _any()}),
    )
    def patch(self, request, user_id=None):
        target = self.get_target(request, user_id)
        updated = user_update(user=target, data=request.data, actor=request.user, **audit_context_from_request(request))
        return _profile_response(updated)

    @extend_schema(request=None, responses=None)
    def delete(self, request, user_id=None):
        target = self.get_target(request, user_id)
        user_soft_delete(user=target, actor=request.user, **audit_context_from_request(request))
        response = success_response(None, message="The account has been deleted.")
        if target.pk == request.user.pk:
            clear_auth_cookies(response)
        return response


class MeView(_UserDetailBase):
    def get_target(self, request, user_id):
        return request.user


class UserDetailView(_UserDetailBase):
    def get_target(self, request, user_id):
        return user_get_visible(user_id=user_id, viewer=request.user)
