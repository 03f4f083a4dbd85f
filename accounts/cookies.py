"""The browser transport (docs/api.md §1 "Authentication transports", docs/web-client.md "Transport").

`access_token` (HttpOnly, Path /, 15 min), `refresh_token` (HttpOnly, Path /api/v1/auth, 7 days) and the
readable `csrf_token` (Path /, 7 days, the web app's "am I signed in" signal). Secure + SameSite=Strict
whenever DEBUG is off; Lax and not Secure in local development (settings.AUTH_COOKIE_*).
"""

from typing import Any, Literal, cast

from django.conf import settings
from django.http.response import HttpResponseBase

from accounts.authentication import ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE

ACCESS_COOKIE_PATH = "/"
REFRESH_COOKIE_PATH = "/api/v1/auth"
CSRF_COOKIE_PATH = "/"


def _common() -> dict[str, Any]:
    return {"secure": settings.AUTH_COOKIE_SECURE, "samesite": settings.AUTH_COOKIE_SAMESITE}


def set_auth_cookies(response: HttpResponseBase, *, access_token: str, refresh_token: str, csrf_token: str) -> None:
    access_age = int(settings.ACCESS_TOKEN_LIFETIME.total_seconds())
    refresh_age = int(settings.REFRESH_TOKEN_LIFETIME.total_seconds())
    response.set_cookie(
        ACCESS_COOKIE, access_token, max_age=access_age, path=ACCESS_COOKIE_PATH, httponly=True, **_common()
    )
    response.set_cookie(
        REFRESH_COOKIE, refresh_token, max_age=refresh_age, path=REFRESH_COOKIE_PATH, httponly=True, **_common()
    )
    response.set_cookie(
        CSRF_COOKIE, csrf_token, max_age=refresh_age, path=CSRF_COOKIE_PATH, httponly=False, **_common()
    )


def set_access_cookie(response: HttpResponseBase, *, access_token: str) -> None:
    access_age = int(settings.ACCESS_TOKEN_LIFETIME.total_seconds())
    response.set_cookie(
        ACCESS_COOKIE, access_token, max_age=access_age, path=ACCESS_COOKIE_PATH, httponly=True, **_common()
    )


def clear_auth_cookies(response: HttpResponseBase) -> None:
    for name, path in (
        (ACCESS_COOKIE, ACCESS_COOKIE_PATH),
        (REFRESH_COOKIE, REFRESH_COOKIE_PATH),
        (CSRF_COOKIE, CSRF_COOKIE_PATH),
    ):
        response.delete_cookie(name, path=path, samesite=cast(Literal["Lax", "Strict"], settings.AUTH_COOKIE_SAMESITE))
        if settings.AUTH_COOKIE_SECURE:
            response.cookies[name]["secure"] = True
