"""Django settings for MANAS360.

Every value comes from the environment through one reader (django-environ), with
safe local defaults. Production differs from development only by environment
values; with DEBUG off, a missing secret or host list stops start-up with an
ImproperlyConfigured error that names the variable.
"""

import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from manas360 import config_checks
from manas360.api.keys import VerbatimKeys
from manas360.devservers import local_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # git-ignored: the local PostgreSQL (var/postgres), local files

env = environ.Env()
# Development overrides (a copy of .env.development.example); the environment wins. Not `.env`: that file is
# docker compose's, and what it holds must not change a development run (nor compose what `make run` does).
environ.Env.read_env(BASE_DIR / ".env.development", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Under pytest without TESTING set (a plain `pytest` from an IDE), the run is a test run all the same.
TESTING = env.bool("TESTING", default="pytest" in sys.modules)


def required_in_production(name, *, development_default, cast=str):
    """Read a variable that has a local default but must be set when DEBUG is off."""
    if name in env.ENVIRON and env.ENVIRON[name] != "":
        return env.list(name) if cast is list else env.str(name)
    if DEBUG or TESTING:
        return development_default
    raise ImproperlyConfigured(f"Set the {name} environment variable (required when DEBUG is off).")


SECRET_KEY = required_in_production("SECRET_KEY", development_default="dev-only-insecure-secret-key-change-me")
ALLOWED_HOSTS = required_in_production(
    "ALLOWED_HOSTS", development_default=["localhost", "127.0.0.1", "[::1]", "testserver"], cast=list
)
VERSION = env.str("APP_VERSION", default="1.0.0")
PORT = env.int("PORT", default=5000)

INSTALLED_APPS = [
    "staff.apps.StaffAdminConfig",  # the Django admin site, with a TOTP second factor (docs/staff.md)
    "accounts",  # before django.contrib.auth: its audited `changepassword` command replaces Django's
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "procrastinate.contrib.django",  # the job engine (docs/jobs.md); before the apps whose tasks.py it loads
    "manas360",
    "subscriptions",
    "rooms",
    "payments",
    "autopay",
    "analytics",
    "staff",
]

MIDDLEWARE = [
    # Request id, access log and metrics wrap everything else so that every
    # answer, including the security middleware's, is counted and logged.
    "manas360.middleware.RequestContextMiddleware",
    "manas360.middleware.ApiBoundaryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "manas360.middleware.BrowserSessionMiddleware",  # Django's, skipped for /api/, /health, /metrics
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "manas360.middleware.BrowserAuthenticationMiddleware",  # likewise (the API authenticates itself)
    "manas360.middleware.BrowserMessageMiddleware",  # likewise
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Admin flash messages live in the session: the default cookie-and-session fallback builds a
# cookie signer on every request, API requests included (docs/performance.md).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "manas360.urls"
WSGI_APPLICATION = "manas360.wsgi.application"
ASGI_APPLICATION = "manas360.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# PostgreSQL only. DATABASE_URL wins everywhere; unset in development and tests means the project's own
# PostgreSQL under var/postgres, which `make run`, `make worker` and the test run start themselves
# (manas360/devservers.py); in production it is required.
DATABASES = {
    "default": env.db_url_config(required_in_production("DATABASE_URL", development_default=local_database_url()))
}
if DATABASES["default"]["ENGINE"] not in ("django.db.backends.postgresql", "manas360.postgresql"):
    raise ImproperlyConfigured(
        "DATABASE_URL must be a postgres://user:pass@host:5432/db URL (PostgreSQL only). In development and tests, "
        "unset it to use the project's own PostgreSQL (make run, make test and pytest start it)."
    )
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
if sys.argv[1:2] == ["runserver"]:
    # runserver serves each request on a new thread and nothing closes a thread's kept connection:
    # ~100 parallel clients would exhaust PostgreSQL's max_connections. Close each at the request's end.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The same backend with a health check that needs no `SELECT 1` round trip (manas360/postgresql).
DATABASES["default"]["ENGINE"] = "manas360.postgresql"
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
statement_timeout_ms = env.int("DB_STATEMENT_TIMEOUT_MS", default=30000)
if statement_timeout_ms:
    DATABASES["default"]["OPTIONS"]["options"] = f"-c statement_timeout={statement_timeout_ms}"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Cache (shared rate limits, OTP cooldowns) ----------------------------
# Required when DEBUG is off: the in-process cache is per worker, so every rate limit (send-otp, verify-otp,
# admin-login) would be multiplied by the number of workers and instances. manas360/server.py refuses several
# workers without it in development too.
REDIS_URL = required_in_production("REDIS_URL", development_default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "manas360",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "manas360"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- HTTP security ----------------------------------------------------------
# JSON bodies over 1 MiB are refused with 413 (docs/api.md §11).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
MAX_JSON_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
SECURE_CONTENT_TYPE_NOSNIFF = True
# "same-origin", not "no-referrer": under no-referrer browsers send `Origin: null` on same-origin form posts,
# and Django's CSRF check then refuses the admin sign-in (found by tests/browser). Cross-origin requests
# still get no referrer.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
    SECURE_REDIRECT_EXEMPT = [r"^health", r"^metrics$"]
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Cookie attributes of the API's own auth cookies (docs/api.md §1).
AUTH_COOKIE_SECURE = not DEBUG
AUTH_COOKIE_SAMESITE = "Lax" if DEBUG else "Strict"

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=["http://localhost:3000", "http://localhost:5173"])
CORS_ALLOW_CREDENTIALS = True
# Only the API is called from the web app's origin; health, metrics, the admin and the home page answer without
# CORS headers (and skip the middleware's header work on every probe, docs/performance.md).
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_HEADERS = ["content-type", "x-csrf-token", "authorization", "x-request-id", "idempotency-key"]
CORS_ALLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CORS_EXPOSE_HEADERS = ["x-request-id", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"]

# --- REST framework -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["manas360.api.renderers.EnvelopeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["manas360.api.parsers.LimitedCamelCaseJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.TokenSessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "manas360.api.pagination.PageLimitPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "manas360.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Rate limits (docs/api.md §10): manas360/api/throttling.py; rates in the accounts section below.
    "DEFAULT_THROTTLE_CLASSES": [
        "manas360.api.throttling.AnonymousRateThrottle",
        "manas360.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {},
}
# camelCase JSON in and out (djangorestframework-camel-case). Keys the web client
# reads in snake_case stay snake_case (docs/web-client.md); the contents of
# free-form client JSON are passed through untouched.
JSON_CAMEL_CASE = {
    "JSON_UNDERSCOREIZE": {
        "no_underscore_before_number": True,
        # Keys a serializer marks as written verbatim (`created_at` on /admin/users rows, docs/api.md "Field names").
        "ignore_keys": VerbatimKeys(),
        "ignore_fields": ("session_data", "metadata", "changes"),
    }
}

SPECTACULAR_SETTINGS = {
    "TITLE": "MANAS360 API",
    "DESCRIPTION": "Unified MANAS360 backend. Envelope, error codes and rules: docs/api-conventions.md.",
    "VERSION": "1.0.0",
    # Several models have a `status`; name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "PaymentStatusEnum": "payments.models.PaymentStatus",
        "SubscriptionStatusEnum": "subscriptions.models.SubscriptionStatus",
        "RoomSessionStatusEnum": "rooms.models.RoomSessionStatus",
    },
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Tags and operation ids from the path after /api/v1 (`auth`, `users`, ...), not "v1".
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "CAMELIZE_NAMES": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
        "drf_spectacular.hooks.postprocess_schema_enums",
        "manas360.api.openapi.error_envelope_hook",  # error envelope + every error code (docs/api.md §11)
        "manas360.api.openapi_operations.operations_hook",  # tags, summaries, working examples
    ],
}

# --- Tokens (simplejwt) -----------------------------------------------------
ACCESS_TOKEN_LIFETIME = timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", default=15))
REFRESH_TOKEN_LIFETIME = timedelta(days=env.int("REFRESH_TOKEN_DAYS", default=7))
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": ACCESS_TOKEN_LIFETIME,
    "REFRESH_TOKEN_LIFETIME": REFRESH_TOKEN_LIFETIME,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

# --- Accounts: sessions, OTP, admin MFA, rate limits (docs/auth.md) ---------------------------------
# Re-presenting a just-rotated refresh token within this many seconds is allowed
# (two tabs refreshing at once); after it the whole family is revoked.
REFRESH_REUSE_INTERVAL_SECONDS = env.int("REFRESH_REUSE_INTERVAL_SECONDS", default=10)
OTP_LENGTH = 6
OTP_TTL_SECONDS = env.int("OTP_TTL_SECONDS", default=300)
OTP_MAX_ATTEMPTS = env.int("OTP_MAX_ATTEMPTS", default=5)
OTP_RESEND_COOLDOWN_SECONDS = env.int("OTP_RESEND_COOLDOWN_SECONDS", default=60)
OTP_HOURLY_LIMIT = env.int("OTP_HOURLY_LIMIT", default=10)
# Honoured only while DEBUG is on (accounts/otp.py); production never uses a fixed code.
OTP_DEV_FIXED_CODE = env.str("OTP_DEV_FIXED_CODE", default="")
# Delivery (docs/auth.md "Delivery"): the console (development, prints the code), capture (tests) or the
# providers (production default): WhatsApp Cloud API and MSG91 SMS for phones, tried in the order of
# OTP_PHONE_CHANNELS (a refused message falls back to the next), SMTP for email. Development defaults point
# at `manage.py otp_provider_fakes` (OTP_PROVIDER_FAKES_URL; its SMTP port is EMAIL_PORT).
OTP_DELIVERY_CHANNEL = env.str(
    "OTP_DELIVERY_CHANNEL",
    default=(
        "accounts.otp_delivery.CaptureChannel"
        if TESTING
        else "accounts.otp_delivery.ConsoleChannel"
        if DEBUG
        else "accounts.otp_delivery.ProviderChannel"
    ),
)
_OTP_FAKES = DEBUG or TESTING
OTP_PROVIDER_FAKES_URL = env.str("OTP_PROVIDER_FAKES_URL", default="http://127.0.0.1:8082").rstrip("/")
OTP_PHONE_CHANNELS = env.list("OTP_PHONE_CHANNELS", default=["whatsapp", "sms"])
OTP_PROVIDER_TIMEOUT_SECONDS = env.float("OTP_PROVIDER_TIMEOUT_SECONDS", default=5.0)
OTP_WHATSAPP_API_URL = env.str(
    "OTP_WHATSAPP_API_URL", default=OTP_PROVIDER_FAKES_URL if _OTP_FAKES else "https://graph.facebook.com"
)
OTP_WHATSAPP_API_VERSION = env.str("OTP_WHATSAPP_API_VERSION", default="v23.0")
OTP_WHATSAPP_PHONE_NUMBER_ID = env.str("OTP_WHATSAPP_PHONE_NUMBER_ID", default="100000000000001" if _OTP_FAKES else "")
OTP_WHATSAPP_ACCESS_TOKEN = env.str(
    "OTP_WHATSAPP_ACCESS_TOKEN", default="fake-whatsapp-access-token" if _OTP_FAKES else ""
)
OTP_WHATSAPP_TEMPLATE_NAME = env.str(
    "OTP_WHATSAPP_TEMPLATE_NAME", default="manas360_sign_in_code" if _OTP_FAKES else ""
)
OTP_WHATSAPP_TEMPLATE_LANGUAGE = env.str("OTP_WHATSAPP_TEMPLATE_LANGUAGE", default="en")
OTP_MSG91_API_URL = env.str(
    "OTP_MSG91_API_URL",
    default=f"{OTP_PROVIDER_FAKES_URL}/api/v5/flow" if _OTP_FAKES else "https://control.msg91.com/api/v5/flow",
)
OTP_MSG91_AUTH_KEY = env.str("OTP_MSG91_AUTH_KEY", default="fake-msg91-auth-key" if _OTP_FAKES else "")
OTP_MSG91_TEMPLATE_ID = env.str("OTP_MSG91_TEMPLATE_ID", default="fake-msg91-template" if _OTP_FAKES else "")
OTP_MSG91_CODE_VARIABLE = env.str("OTP_MSG91_CODE_VARIABLE", default="otp")
# Email codes go over SMTP (Amazon SES, SendGrid and the others all offer it; docs/auth.md).
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1" if _OTP_FAKES else "")
EMAIL_PORT = env.int("EMAIL_PORT", default=8025 if _OTP_FAKES else 587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="fake-smtp-user" if _OTP_FAKES else "")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="fake-smtp-password" if _OTP_FAKES else "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=not _OTP_FAKES)  # STARTTLS on 587
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)  # implicit TLS on 465
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=OTP_PROVIDER_TIMEOUT_SECONDS)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="MANAS360 <no-reply@manas360.test>" if _OTP_FAKES else "")
OTP_PHONE_CHANNELS = config_checks.otp_delivery(
    delivery_channel=OTP_DELIVERY_CHANNEL,
    phone_channels=OTP_PHONE_CHANNELS,
    values={name: value for name, value in globals().items() if name.startswith(("OTP_", "EMAIL_", "DEFAULT_"))},
    production=not (DEBUG or TESTING),
)
MFA_ISSUER_NAME = env.str("MFA_ISSUER_NAME", default="MANAS360")
MFA_TOKEN_TTL_SECONDS = 300
# Fernet keys for the admins' TOTP secrets at rest, comma-separated, newest first (MultiFernet: the first
# encrypts, all decrypt). Rotation: put a new key in front, then `manage.py rotate_mfa_encryption_key`
# (docs/auth.md). Required when DEBUG is off; the development default is a fixed, public key.
MFA_ENCRYPTION_KEYS = config_checks.fernet_keys(
    required_in_production(
        "MFA_ENCRYPTION_KEY", development_default=["19IfxQ6jRenaOWaWCEF_xcV04A96KxWb_Gf9CKkfW5c="], cast=list
    )
)
ADMIN_LOCKOUT_THRESHOLD = env.int("ADMIN_LOCKOUT_THRESHOLD", default=5)
ADMIN_LOCKOUT_WINDOW_SECONDS = env.int("ADMIN_LOCKOUT_WINDOW_SECONDS", default=900)
ADMIN_LOCKOUT_SECONDS = env.int("ADMIN_LOCKOUT_SECONDS", default=900)
# Failures of one admin account across all addresses after which an address that failed is refused for the
# rest of the window (docs/auth.md "Lockout"); a clean address is never refused.
ADMIN_LOCKOUT_ACCOUNT_THRESHOLD = env.int("ADMIN_LOCKOUT_ACCOUNT_THRESHOLD", default=20)
SUPPORTED_LANGUAGES = env.list("SUPPORTED_LANGUAGES", default=["en", "hi", "kn", "ta", "te", "ml", "mr", "bn", "gu"])
# Rate limits "<count>/<period>", period s|m|h|d, optionally with a number ("5/15m").
RATE_LIMITS = {
    "anon": env.str("RATE_LIMIT_ANON", default="300/m"),
    "user": env.str("RATE_LIMIT_USER", default="1000/m"),
    "send_otp_identifier": env.str("RATE_LIMIT_SEND_OTP_IDENTIFIER", default="5/15m"),
    "send_otp_ip": env.str("RATE_LIMIT_SEND_OTP_IP", default="20/15m"),
    "verify_otp_identifier": env.str("RATE_LIMIT_VERIFY_OTP_IDENTIFIER", default="10/15m"),
    "admin_login_ip": env.str("RATE_LIMIT_ADMIN_LOGIN_IP", default="10/15m"),
    "verify_mfa_ip": env.str("RATE_LIMIT_VERIFY_MFA_IP", default="10/15m"),
}
# RateLimit-* headers on throttled endpoints (manas360/api/throttling.py).
MIDDLEWARE.insert(
    MIDDLEWARE.index("manas360.middleware.ApiBoundaryMiddleware") + 1,
    "manas360.api.throttling.RateLimitHeadersMiddleware",
)
SEED_ADMIN_PASSWORD = env.str("SEED_ADMIN_PASSWORD", default="Admin-pass-123!")
if TESTING:  # fast hashing in the test suite only
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Metrics ------------------------------------------------------------------
# /metrics needs `Authorization: Bearer METRICS_TOKEN`, or is served only to clients inside
# METRICS_ALLOWED_NETWORKS (private CIDRs, e.g. the scraper's subnet). With DEBUG off one of them is required.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = config_checks.metrics_access(
    token=METRICS_TOKEN,
    networks=env.list("METRICS_ALLOWED_NETWORKS", default=[]),
    production=not (DEBUG or TESTING),
)

# --- Logging: one JSON object per line; one readable line in development -------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# `json` (production default) or `console` (the default when DEBUG is on); both redact the same way.
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or console.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "manas360.logging.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "manas360.logging.JsonFormatter"},
        "console": {"()": "manas360.logging.development_formatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_context"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Our access log replaces Django's, which would log full query strings.
        "django.request": {"level": "CRITICAL", "propagate": True},
        # runserver's own request line (plain text, then again as JSON through the root): our access log is
        # the one line per request, so it is silenced, handler included.
        "django.server": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}

# --- Payments: PhonePe Standard Checkout v2 (docs/payments.md) -----
# PHONEPE_ENV picks the hosts (docs/phonepe.md §1): PRODUCTION, SANDBOX or SIMULATOR (the
# local `manage.py phonepe_simulator`, the default in DEBUG). PHONEPE_PG_BASE_URL and
# PHONEPE_OAUTH_BASE_URL override them. Credentials and webhook credentials must be
# set when DEBUG is off; in development they match the simulator's defaults.
PHONEPE_ENV = env.str("PHONEPE_ENV", default="SIMULATOR" if (DEBUG or TESTING) else "PRODUCTION").upper()
# Where the local simulator listens: the one variable both `make simulator` and the API read.
PHONEPE_SIMULATOR_URL = env.str("PHONEPE_SIMULATOR_URL", default="http://127.0.0.1:8081").rstrip("/")
_PHONEPE_HOSTS = {
    "PRODUCTION": ("https://api.phonepe.com/apis/pg", "https://api.phonepe.com/apis/identity-manager"),
    "SANDBOX": ("https://api-preprod.phonepe.com/apis/pg-sandbox", "https://api-preprod.phonepe.com/apis/pg-sandbox"),
    "SIMULATOR": (f"{PHONEPE_SIMULATOR_URL}/apis/pg-sandbox", f"{PHONEPE_SIMULATOR_URL}/apis/pg-sandbox"),
}
if PHONEPE_ENV not in _PHONEPE_HOSTS:
    raise ImproperlyConfigured("PHONEPE_ENV must be PRODUCTION, SANDBOX or SIMULATOR.")
if PHONEPE_ENV == "SIMULATOR" and not (DEBUG or TESTING):
    raise ImproperlyConfigured("PHONEPE_ENV=SIMULATOR is for development only (DEBUG on).")
PHONEPE_PG_BASE_URL = env.str("PHONEPE_PG_BASE_URL", default=_PHONEPE_HOSTS[PHONEPE_ENV][0])
PHONEPE_OAUTH_BASE_URL = env.str("PHONEPE_OAUTH_BASE_URL", default=_PHONEPE_HOSTS[PHONEPE_ENV][1])
PHONEPE_CLIENT_ID = required_in_production("PHONEPE_CLIENT_ID", development_default="SIMULATOR_CLIENT")
PHONEPE_CLIENT_SECRET = required_in_production(
    "PHONEPE_CLIENT_SECRET", development_default="simulator-secret-not-for-production"
)
PHONEPE_CLIENT_VERSION = required_in_production("PHONEPE_CLIENT_VERSION", development_default="1")
PHONEPE_WEBHOOK_USERNAME = required_in_production("PHONEPE_WEBHOOK_USERNAME", development_default="manas360_sim")
PHONEPE_WEBHOOK_PASSWORD = required_in_production("PHONEPE_WEBHOOK_PASSWORD", development_default="simulator123")
# Where PhonePe sends the browser after checkout: the web app's payment-result page. In development it
# defaults to the backend's own result page (payments/result_page.py), so a backend-only setup closes the loop.
PHONEPE_REDIRECT_URL = required_in_production(
    "PHONEPE_REDIRECT_URL", development_default=f"http://localhost:{PORT}/payments/result"
)
PHONEPE_ORDER_EXPIRE_SECONDS = env.int("PHONEPE_ORDER_EXPIRE_SECONDS", default=1200)  # 300-3600 (docs/phonepe.md §4.1)
PHONEPE_CONNECT_TIMEOUT_SECONDS = env.float("PHONEPE_CONNECT_TIMEOUT_SECONDS", default=3.0)
PHONEPE_READ_TIMEOUT_SECONDS = env.float("PHONEPE_READ_TIMEOUT_SECONDS", default=10.0)
PHONEPE_MAX_RETRIES = env.int("PHONEPE_MAX_RETRIES", default=2)
# A payment still pending this long is reconciled with the order-status API on read.
PAYMENT_RECONCILE_AFTER_SECONDS = env.int("PAYMENT_RECONCILE_AFTER_SECONDS", default=30)
# ...and then at most once per this interval, however often it is read (payments.services.reconcile).
PAYMENT_RECONCILE_INTERVAL_SECONDS = env.int("PAYMENT_RECONCILE_INTERVAL_SECONDS", default=60)

# UPI Autopay renewals (docs/autopay.md): the pre-debit notice goes out this many hours before
# the paid end (at least 24 + a margin: the debit may not follow sooner than 24 h); a failed
# debit is retried after AUTOPAY_RETRY_AFTER_HOURS, at most AUTOPAY_MAX_ATTEMPTS per period,
# with access kept for AUTOPAY_GRACE_DAYS after the paid end while that happens.
AUTOPAY_NOTIFY_BEFORE_HOURS = env.int("AUTOPAY_NOTIFY_BEFORE_HOURS", default=48)
AUTOPAY_RETRY_AFTER_HOURS = env.int("AUTOPAY_RETRY_AFTER_HOURS", default=24)
AUTOPAY_MAX_ATTEMPTS = env.int("AUTOPAY_MAX_ATTEMPTS", default=3)
AUTOPAY_GRACE_DAYS = env.int("AUTOPAY_GRACE_DAYS", default=4)
AUTOPAY_MANDATE_VALIDITY_DAYS = env.int("AUTOPAY_MANDATE_VALIDITY_DAYS", default=1825)
if AUTOPAY_NOTIFY_BEFORE_HOURS < 25:
    raise ImproperlyConfigured("AUTOPAY_NOTIFY_BEFORE_HOURS must leave the 24 h UPI notice plus a margin (>= 25).")

# --- Error tracking and tracing: off unless configured (manas360/observability.py, docs/deployment.md) ----
# Never from a test run, whatever the shell exports.
SENTRY_DSN = "" if TESTING else env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
OTEL_EXPORTER_OTLP_ENDPOINT = "" if TESTING else env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="manas360-backend")

# --- Background jobs: procrastinate on PostgreSQL (docs/jobs.md) -------------
from manas360.jobs_settings import *  # noqa: E402, F403

# Task registration is logged at every start of every command: kept quiet.
LOGGING["loggers"].update(  # type: ignore[attr-defined]
    {"procrastinate.blueprints": {"level": "WARNING"}, "procrastinate.periodic": {"level": "WARNING"}}
)
