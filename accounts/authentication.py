"""Authentication for the API: `Authorization: Bearer` or the `access_token` cookie."""

from django.contrib.auth import get_user_model
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from manas360.request_context import set_user_id


class TokenSessionAuthentication(BaseAuthentication):
    def authenticate_header(self, request):
        return "Bearer"

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, raw = header.partition(" ")
            if scheme != "Bearer" or not raw:
                raise exceptions.AuthenticationFailed("Invalid token.", code="token_invalid")
        else:
            raw = request.COOKIES.get("access_token")
            if not raw:
                return None
        try:
            token = AccessToken(raw)
        except TokenError as exc:
            raise exceptions.AuthenticationFailed("Invalid or expired token.", code="token_invalid") from exc
        user = get_user_model().objects.filter(pk=token["sub"]).first()
        if user is None or user.deleted_at is not None:
            raise exceptions.AuthenticationFailed("Invalid token.", code="token_invalid")
        if not user.is_active:
            raise exceptions.AuthenticationFailed("This account is suspended.", code="account_suspended")
        set_user_id(str(user.pk))
        return user, token
