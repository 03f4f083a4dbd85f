"""Auth, admin MFA and user profile endpoints (docs/api.md §2, §3, §7 MFA). Thin: validate, call a service, answer."""

from abc import ABCMeta, abstractmethod
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts import mfa, otp
from accounts.audit import audit_context_from_request
from accounts.authentication import ACCESS_COOKIE, REFRESH_COOKIE, csrf_matches_session
from accounts.cookies import clear_auth_cookies, set_access_cookie, set_auth_cookies
from accounts.errors import CsrfFailed, OriginNotAllowed
from accounts.models import AuthSession, User
from accounts.permissions import IsAdmin
from accounts.selectors import profile_sections, user_get_visible
from accounts.serializers import (
    AdminLoginSerializer,
    EmailChangeConfirmSerializer,
    EmailChangePendingSerializer,
    EmailChangeSerializer,
    LogoutSerializer,
    MfaChallengeSerializer,
    MfaDisableSerializer,
    MfaEnableSerializer,
    MfaSecretSerializer,
    MfaStateSerializer,
    MfaStatusSerializer,
    OtpSentSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
    RefreshedSerializer,
    RefreshSerializer,
    SendOtpSerializer,
    SignedInSerializer,
    UserSerializer,
    VerifyMfaSerializer,
    VerifyOtpSerializer,
)
from accounts.services import email_change, user_soft_delete, user_update
from accounts.services.email_change import PendingEmailChange
from accounts.sessions import (
    IssuedTokens,
    session_for_refresh_token,
    session_refresh,
    session_reissue_access,
    session_revoke,
    session_start,
    sessions_revoke_for_user,
)
from accounts.throttling import (
    AdminLoginIpThrottle,
    EmailChangeConfirmThrottle,
    SendOtpIdentifierThrottle,
    SendOtpIpThrottle,
    VerifyMfaIpThrottle,
    VerifyOtpIdentifierThrottle,
)
from manas360.api.clock import request_now
from manas360.api.errors import ApplicationError, Unauthorized, ValidationFailed
from manas360.api.input import validated_body
from manas360.api.responses import success_response
from manas360.api.throttling import AnonymousRateThrottle, UserRateThrottle


def _user_of(request: Request) -> User:
    """The signed-in user of a request that passed IsAuthenticated or IsAdmin (always a `User` then)."""
    return cast(User, request.user)


def _signed_in_response(
    request: Request,
    *,
    user: User,
    issued: IssuedTokens,
    message: str,
    status: int = 200,
    extra_top: dict[str, Any] | None = None,
    **extra_data: Any,
) -> Response:
    """The verify-otp / verify-mfa answer (docs/api.md §2): top `user`, `data.user`, `data.tokens`, `csrfToken`."""
    data = SignedInSerializer(
        {"user": user, "tokens": issued, **extra_data}, context={"permissions": issued.permissions}
    ).data
    response = success_response(
        data, message=message, status=status, user=data["user"], csrf_token=issued.csrf_token, **(extra_top or {})
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
        request=SendOtpSerializer,
        responses=OtpSentSerializer,
    )
    def post(self, request: Request) -> Response:
        identifier = validated_body(SendOtpSerializer, request)["identifier"]
        context = audit_context_from_request(request)
        sent = otp.otp_send(identifier=identifier, now=request_now(request), ip_address=context["ip_address"])
        return success_response(
            OtpSentSerializer(sent).data, message="If the number or email can receive messages, a code is on its way."
        )


class VerifyOtpView(_PublicAuthView):
    throttle_classes = [AnonymousRateThrottle, VerifyOtpIdentifierThrottle]

    @extend_schema(
        request=VerifyOtpSerializer,
        responses=SignedInSerializer,
    )
    def post(self, request: Request) -> Response:
        body = validated_body(VerifyOtpSerializer, request)
        now = request_now(request)
        verified = otp.otp_verify(identifier=body["identifier"], code=body.get("otp") or "", now=now)
        issued = session_start(user=verified.user, now=now, **audit_context_from_request(request))
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
        request=AdminLoginSerializer,
        responses=PolymorphicProxySerializer(
            "AdminLoginResponse",
            serializers=[MfaChallengeSerializer, SignedInSerializer],
            resource_type_field_name=None,
        ),
    )
    def post(self, request: Request) -> Response:
        body = validated_body(AdminLoginSerializer, request)
        result = mfa.admin_login(
            email=body.get("email"),
            password=body.get("password"),
            now=request_now(request),
            **audit_context_from_request(request),
        )
        if result.mfa_token is not None:
            challenge = {
                "mfa_required": True,
                "mfa_token": result.mfa_token,
                "expires_in": settings.MFA_TOKEN_TTL_SECONDS,
            }
            data = MfaChallengeSerializer(challenge).data
            return success_response(
                data,
                message="Enter the code from your authenticator app.",
                mfa_required=True,
                mfa_token=result.mfa_token,
            )
        assert result.issued is not None  # no MFA step: the restricted session is already issued
        return _signed_in_response(
            request,
            user=result.user,
            issued=result.issued,
            message="Set up multi-factor authentication to use the admin area.",
            extra_top={"mfa_required": False, "mfa_enrollment_required": True},
            mfa_required=False,
            mfa_enrollment_required=True,
        )


class AdminVerifyMfaView(_PublicAuthView):
    throttle_classes = [AnonymousRateThrottle, VerifyMfaIpThrottle]

    @extend_schema(
        request=VerifyMfaSerializer,
        responses=SignedInSerializer,
    )
    def post(self, request: Request) -> Response:
        body = validated_body(VerifyMfaSerializer, request)
        issued = mfa.admin_verify_mfa(
            mfa_token=body.get("mfa_token"),
            mfa_code=body.get("mfa_code"),
            now=request_now(request),
            **audit_context_from_request(request),
        )
        return _signed_in_response(request, user=issued.session.user, issued=issued, message="Signed in.")


def _origin_allowed(request: Request) -> bool:
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
        request=RefreshSerializer,
        responses=RefreshedSerializer,
    )
    def post(self, request: Request) -> Response:
        if not _origin_allowed(request):
            raise OriginNotAllowed()
        body_token = validated_body(RefreshSerializer, request).get("refresh_token")
        from_cookie = not body_token
        raw = request.COOKIES.get(REFRESH_COOKIE, "") if from_cookie else body_token
        if not raw or not isinstance(raw, str):
            raise Unauthorized("No refresh token was sent.")
        try:
            issued = session_refresh(raw_token=raw, now=request_now(request), **audit_context_from_request(request))
        except ApplicationError as exc:
            if from_cookie and exc.status_code == 401:
                # The session is over: drop the cookies so the browser stops presenting them.
                response = self.handle_exception(exc)
                clear_auth_cookies(response)
                return response
            raise
        if from_cookie:
            response = success_response(RefreshedSerializer({"expires_in": issued.expires_in}).data)
            set_auth_cookies(
                response,
                access_token=issued.access_token,
                refresh_token=issued.refresh_token,
                csrf_token=issued.csrf_token,
            )
            return response
        return success_response(RefreshedSerializer({"tokens": issued, "expires_in": issued.expires_in}).data)


class LogoutView(_PublicAuthView):
    """Ends the session of the presented access token (even an expired one) or refresh token.

    A Bearer access token or a refresh token in the body is not something a browser attaches on its own, so
    those need no CSRF header. Cookies are: a cookie request must carry the CSRF token of the session its
    cookies name (an unusable `Authorization` header does not exempt it). `{"allDevices": true}` ends all of
    the user's sessions. Always clears the three cookies.
    """

    @extend_schema(request=LogoutSerializer, responses=None)
    def post(self, request: Request) -> Response:
        body = validated_body(LogoutSerializer, request)
        session = _session_named_by_credentials(request, body)
        if session is not None and session.revoked_at is None:
            # Only a live session may end the others: a token of an ended session signs nobody out.
            if body["all_devices"]:
                sessions_revoke_for_user(user=session.user, reason="logout_all", now=request_now(request))
            else:
                session_revoke(session_id=session.pk, reason="logout", now=request_now(request))
        response = success_response(None, message="Signed out.")
        clear_auth_cookies(response)
        return response


def _session_named_by_credentials(request: Request, body: dict[str, Any]) -> AuthSession | None:
    """The session a logout ends: Bearer token, else body refresh token, else the cookies (CSRF-checked)."""
    scheme, _, raw_bearer = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and raw_bearer.strip():
        session = _session_from_access_token(raw_bearer.strip())
        if session is not None:
            return session
    body_refresh = body.get("refresh_token")
    if isinstance(body_refresh, str) and body_refresh:
        return session_for_refresh_token(body_refresh, now=request_now(request))
    raw_access = request.COOKIES.get(ACCESS_COOKIE, "")
    raw_refresh = request.COOKIES.get(REFRESH_COOKIE, "")
    session = _session_from_access_token(raw_access) if raw_access else None
    if session is None and raw_refresh:
        session = session_for_refresh_token(raw_refresh, now=request_now(request))
    # Cookies naming no session end nothing (the answer only clears them), so there is nothing to protect.
    if session is not None and not csrf_matches_session(request, session.pk):
        raise CsrfFailed()
    return session


def _session_from_access_token(raw: str) -> AuthSession | None:
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
    if claims.get("token_type") != "access" or not claims.get("sid") or not claims.get("sub"):
        return None
    return AuthSession.objects.select_related("user").filter(pk=claims["sid"], user_id=claims["sub"]).first()


# --- Admin MFA enrolment (reachable from the restricted admin session) ---------------------------------------


def _session_of(request: Request) -> AuthSession | None:
    return getattr(request.auth, "session", None)


class MfaStatusView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=MfaStatusSerializer)
    def get(self, request: Request) -> Response:
        return success_response(MfaStatusSerializer(mfa.mfa_status(user=_user_of(request))).data)


class MfaGenerateSecretView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=MfaSecretSerializer)
    def post(self, request: Request) -> Response:
        secret = mfa.mfa_generate_secret(user=_user_of(request), now=request_now(request))
        return success_response(MfaSecretSerializer(secret).data, message="Scan the QR code, then confirm a code.")


class MfaEnableView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=MfaEnableSerializer, responses=MfaStateSerializer)
    def post(self, request: Request) -> Response:
        body = validated_body(MfaEnableSerializer, request)
        session = _session_of(request)
        mfa.mfa_enable(
            user=_user_of(request),
            session=session,
            mfa_code=body.get("mfa_code"),
            secret=body.get("secret"),
            now=request_now(request),
            **audit_context_from_request(request),
        )
        response = success_response(
            MfaStateSerializer({"mfa_enabled": True}).data, message="Multi-factor authentication is on."
        )
        if session is not None and request.COOKIES.get(ACCESS_COOKIE) and not request.headers.get("Authorization"):
            set_access_cookie(response, access_token=session_reissue_access(session=session))
        return response


class MfaDisableView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=MfaDisableSerializer, responses=MfaStateSerializer)
    def post(self, request: Request) -> Response:
        body = validated_body(MfaDisableSerializer, request)
        mfa.mfa_disable(
            user=_user_of(request),
            session=_session_of(request),
            mfa_code=body.get("mfa_code"),
            password=body.get("password"),
            now=request_now(request),
            **audit_context_from_request(request),
        )
        return success_response(
            MfaStateSerializer({"mfa_enabled": False}).data, message="Multi-factor authentication is off."
        )


# --- Users (docs/api.md §3) ------------------------------------------------------------------------------------------


def _profile_response(
    user: User,
    *,
    now: datetime,
    with_subscription: bool = True,
    email_change: PendingEmailChange | None = None,
) -> Response:
    sections = profile_sections(user=user, now=now) if with_subscription else None
    payload = ProfileSerializer(user, context={"sections": sections, "email_change": email_change}).data
    if email_change is None:
        return success_response(payload, user=payload)
    return success_response(
        payload, user=payload, message="We sent a code to the new address. Confirm it to change your email."
    )


class _UserDetailBase(APIView, metaclass=ABCMeta):
    # Subclasses implement get_target(request, user_id): the user this request reads, updates or
    # deletes, already permission-checked. (No docstring here, and ABCMeta rather than an ABC base: a
    # docstring in the MRO would become every subclass's OpenAPI description.)
    permission_classes = [IsAuthenticated]
    throttle_classes = [AnonymousRateThrottle, UserRateThrottle]

    @abstractmethod
    def get_target(self, request: Request, user_id: str | None) -> User: ...

    def get_throttles(self) -> list[BaseThrottle]:
        throttles = super().get_throttles()
        if self.request.method == "PATCH" and isinstance(self.request.data, dict) and self.request.data.get("email"):
            # A new email sends a code, as send-otp does: the same per-IP and per-address limits.
            throttles += [SendOtpIpThrottle(), SendOtpIdentifierThrottle()]
        return throttles

    @extend_schema(responses=ProfileSerializer)
    def get(self, request: Request, user_id: str | None = None) -> Response:
        return _profile_response(self.get_target(request, user_id), now=request_now(request))

    @extend_schema(
        request=ProfileUpdateSerializer,
        responses=ProfileSerializer,
    )
    def patch(self, request: Request, user_id: str | None = None) -> Response:
        target = self.get_target(request, user_id)
        changes = validated_body(ProfileUpdateSerializer, request)
        result = user_update(
            user=target,
            actor=_user_of(request),
            now=request_now(request),
            **changes,
            **audit_context_from_request(request),
        )
        return _profile_response(result.user, now=request_now(request), email_change=result.email_change)

    @extend_schema(request=None, responses=None)
    def delete(self, request: Request, user_id: str | None = None) -> Response:
        target = self.get_target(request, user_id)
        user_soft_delete(
            user=target, actor=_user_of(request), now=request_now(request), **audit_context_from_request(request)
        )
        response = success_response(None, message="The account has been deleted.")
        if target.pk == _user_of(request).pk:
            clear_auth_cookies(response)
        return response


class MeView(_UserDetailBase):
    def get_target(self, request: Request, user_id: str | None) -> User:
        return _user_of(request)


class UserDetailView(_UserDetailBase):
    def get_target(self, request: Request, user_id: str | None) -> User:
        return user_get_visible(user_id=user_id, viewer=_user_of(request))


# --- Self-service email change (docs/auth.md "Email change") ------------------------------------------------


class EmailChangeView(APIView):
    """Ask for a new email address: a code goes to it; nothing changes until it is confirmed."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [UserRateThrottle, SendOtpIpThrottle, SendOtpIdentifierThrottle]

    @extend_schema(
        request=EmailChangeSerializer,
        responses=EmailChangePendingSerializer,
    )
    def post(self, request: Request) -> Response:
        new_email = email_change.parse_new_email(validated_body(EmailChangeSerializer, request)["email"])
        if new_email == _user_of(request).email:
            raise ValidationFailed(
                "This is already your email address.", errors={"email": ["This is already your email address."]}
            )
        pending = email_change.email_change_request(
            user=_user_of(request), new_email=new_email, now=request_now(request), **audit_context_from_request(request)
        )
        return success_response(
            EmailChangePendingSerializer(pending).data,
            message="We sent a code to the new address. Confirm it to change your email.",
        )


class EmailChangeConfirmView(APIView):
    """Confirm the code sent to the new address: the address becomes the account's email."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [UserRateThrottle, EmailChangeConfirmThrottle]

    @extend_schema(
        request=EmailChangeConfirmSerializer,
        responses=UserSerializer,
    )
    def post(self, request: Request) -> Response:
        updated = email_change.email_change_confirm(
            user=_user_of(request),
            code=validated_body(EmailChangeConfirmSerializer, request).get("code"),
            now=request_now(request),
            **audit_context_from_request(request),
        )
        payload = UserSerializer(updated).data
        return success_response(payload, user=payload, message="Your email address has been changed.")
