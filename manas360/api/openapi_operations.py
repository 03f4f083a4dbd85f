"""What people read in the API documentation: one summary per operation and the example bodies that work.

`operations_hook` (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) applies this table to the generated schema:

* `summary`: one line per operation (Swagger's list, the Postman request names' descriptions);
* `request`: the body Swagger's "Try it out" pre-fills and the Postman collection sends. Every value works against
  a development server seeded with `manage.py seed` (demo accounts and plans of docs/api.md §11), so a reader can
  press Execute without editing anything but ids and codes that only exist at run time;
* `response`: an example of the success answer, for the operations people try first.

Shapes (which fields, which types) stay with the views and serializers (`@extend_schema`); this table holds only
the prose and the examples, in one place, so they are written and reviewed together. A test fails when an
operation has no summary or a JSON body has no example (manas360/tests/test_openapi_operations.py).

Keys are "METHOD /path" with the path as the schema shows it, without the `/api/v1` prefix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Ids that exist only at run time: the reader replaces them (Swagger shows the parameter box next to the path).
_CODE = "123456"
_PHONE = "+919876543210"  # the seeded demo patient
# The self-service and the admin PATCH take the same profile fields.
_PROFILE_CHANGES = {
    "firstName": "Asha",
    "lastName": "Rao",
    "bio": "Yoga teacher",
    "language": "hi",
    "timezone": "Asia/Kolkata",
}

OPERATIONS: dict[str, dict[str, Any]] = {
    # --- auth -------------------------------------------------------------------------------------------------
    "POST /auth/send-otp": {
        "summary": "Send a one-time sign-in code to a phone number or email",
        "request": {"phoneNumber": _PHONE},
        "response": {
            "success": True,
            "message": "If the number or email can receive messages, a code is on its way.",
            "data": {
                "otpId": "5b0d6f1e-8c1a-4f4e-9a53-1f0b7d2c9e10",
                "channel": "sms",
                "expiresIn": 300,
                "resendIn": 60,
            },
        },
    },
    "POST /auth/verify-otp": {
        "summary": "Sign in (or sign up) with the one-time code; sets the session cookies",
        "request": {"phoneNumber": _PHONE, "otp": _CODE},
    },
    "POST /auth/login": {
        "summary": "Same as verify-otp (the legacy server's name for it)",
        "request": {"phoneNumber": _PHONE, "otp": _CODE},
    },
    "POST /auth/admin-login": {
        "summary": "Admin sign-in with email and password (then verify-mfa, or MFA enrolment)",
        "request": {"email": "admin@manas360.local", "password": "Admin-pass-123!"},
        "response": {
            "success": True,
            "message": "Enter the code from your authenticator app.",
            "data": {"mfaRequired": True, "mfaToken": "<token for verify-mfa>", "expiresIn": 300},
            "mfaRequired": True,
            "mfaToken": "<token for verify-mfa>",
        },
    },
    "POST /auth/admin-login/verify-mfa": {
        "summary": "Finish the admin sign-in with an authenticator or backup code",
        "request": {"mfaToken": "<mfaToken from admin-login>", "mfaCode": _CODE},
    },
    "POST /auth/refresh": {
        "summary": "Rotate the refresh token and issue a new access token",
        # Browsers (and Swagger, Postman) carry the refresh_token cookie: an empty body is a working request.
        "request": {},
        "response": {"success": True, "data": {"expiresIn": 900}},
    },
    "POST /auth/logout": {
        "summary": "Sign out this session (or every session with allDevices)",
        "request": {"allDevices": False},
    },
    # --- users ------------------------------------------------------------------------------------------------
    "GET /users/me": {"summary": "The signed-in user's profile, with a subscription summary"},
    "PATCH /users/me": {
        "summary": "Update the signed-in user's profile",
        "request": _PROFILE_CHANGES,
    },
    "DELETE /users/me": {"summary": "Delete the signed-in user's account (soft delete, data scrubbed)"},
    "POST /users/me/email-change": {
        "summary": "Ask for a new email address: a code is sent to it, the change waits for it",
        "request": {"email": "new.address@example.com"},
    },
    "POST /users/me/email-change/confirm": {
        "summary": "Confirm the code sent to the new address: it becomes the account's email",
        "request": {"code": _CODE},
    },
    "GET /users/{user_id}": {"summary": "A user's profile (self or admin)"},
    "PATCH /users/{user_id}": {
        "summary": "Update a user's profile (self or admin)",
        "request": _PROFILE_CHANGES,
    },
    "DELETE /users/{user_id}": {"summary": "Delete a user's account (self or admin)"},
    # --- subscriptions ----------------------------------------------------------------------------------------
    "GET /subscriptions/plans": {"summary": "The plans on sale (public)"},
    "GET /subscriptions/current": {"summary": "The active subscription, else the latest, else null"},
    "GET /subscriptions/active": {"summary": "The active subscription, or 404 no_active_subscription"},
    "GET /subscriptions": {"summary": "The caller's subscriptions, newest first"},
    "PATCH /subscriptions/{subscription_id}/cancel": {
        "summary": "Cancel a subscription at the end of its period (owner or admin)",
        "request": {"reason": "Taking a break"},
    },
    "POST /subscriptions/cancel": {
        "summary": "Cancel the caller's active subscription at the end of its period",
        "request": {"reason": "Taking a break"},
    },
    "POST /subscriptions/upgrade": {
        "summary": "Move to another plan: a free plan at once, a paid plan through a payment",
        "request": {"planId": "premium_monthly"},
    },
    "GET /subscriptions/autopay": {"summary": "The caller's Autopay mandate (state, next debit), or null"},
    "POST /subscriptions/autopay": {
        "summary": "Turn Autopay on for a monthly or yearly plan: answers PhonePe's mandate checkout URL",
        "request": {"planId": "premium_monthly"},
    },
    "DELETE /subscriptions/autopay": {
        "summary": "Turn Autopay off: cancels the mandate at PhonePe; access runs to the paid end"
    },
    # --- payments ---------------------------------------------------------------------------------------------
    "POST /payments/create": {
        "summary": "Start paying for a plan: answers PhonePe's checkout URL",
        "request": {"planId": "premium_monthly"},
        "response": {
            "success": True,
            "data": {
                "id": "0f6b3a5e-2d7c-4b8e-9c1d-3e4f5a6b7c8d",
                "transactionId": "M360_3f9c2a7b1d4e4c0a9b8e7d6c5f4a3b2c",
                "merchantTransactionId": "M360_3f9c2a7b1d4e4c0a9b8e7d6c5f4a3b2c",
                "orderId": "OMO2611301234567890",
                "status": "pending",
                "amountPaise": 29900,
                "amount": 299.0,
                "currency": "INR",
                "redirectUrl": "https://mercury-t2.phonepe.com/transact/pg?token=...",
                "expiresIn": 1200,
                "paymentGateway": "PhonePe",
            },
        },
    },
    "GET /payments": {"summary": "The caller's payments, newest first"},
    "GET /payments/{transaction_id}": {"summary": "One payment (owner or admin); a stale pending one is reconciled"},
    "POST /payments/webhook": {"summary": "PhonePe's callback (authenticated by its header, docs/phonepe.md §7)"},
    # --- themed rooms -----------------------------------------------------------------------------------------
    "GET /themed-rooms/themes": {"summary": "The theme catalogue (public; `locked` for the caller)"},
    "GET /themed-rooms/themes/{theme_id}": {"summary": "One theme by slug or UUID, with its media"},
    "POST /themed-rooms/sessions": {
        "summary": "Start a session in a theme (closes the caller's open one)",
        "request": {"themeId": "calm-lake", "deviceType": "web", "timerSeconds": 600, "moodBefore": 4},
    },
    "GET /themed-rooms/sessions": {"summary": "The caller's sessions, newest first"},
    "GET /themed-rooms/sessions/{session_id}": {"summary": "One of the caller's sessions, with its progress"},
    "PATCH /themed-rooms/sessions/{session_id}/end": {
        "summary": "End the caller's session once; answers the points earned",
        "request": {"rating": 5, "feedback": "Very calming", "moodAfter": 7, "completedFullTimer": True},
    },
    # --- analytics --------------------------------------------------------------------------------------------
    "GET /analytics/overview": {"summary": "Headline numbers for a date range"},
    "GET /analytics/sessions": {"summary": "Sessions by theme category, device type and theme"},
    "GET /analytics/outcomes": {"summary": "Mood and questionnaire outcomes, and sessions per day"},
    "GET /analytics/dashboard": {"summary": "The dashboard: summary, daily series and top themes"},
    "GET /analytics/reports/{report_type}": {"summary": "One report grouped by day, week or month"},
    "GET /analytics/export": {"summary": "Download the analytics as CSV, Excel or PDF"},
    "GET /analytics/export/excel": {"summary": "Download the analytics as an Excel workbook"},
    "GET /analytics/export/pdf": {"summary": "Download the analytics as a PDF report"},
    "GET /analytics/assessments": {"summary": "The caller's questionnaire scores"},
    "POST /analytics/assessments": {
        "summary": "Record one of the caller's questionnaire scores (PHQ-9 or GAD-7)",
        "request": {"type": "PHQ9", "phase": "pre", "score": 12},
    },
    # --- admin ------------------------------------------------------------------------------------------------
    "GET /admin/users": {"summary": "Users (not deleted), filtered, sorted and paginated"},
    "GET /admin/users/{user_id}": {"summary": "A user with subscriptions and activity"},
    "PATCH /admin/users/{user_id}": {
        "summary": "Update a user's name, role or status",
        "request": {"firstName": "Asha", "lastName": "Rao"},
    },
    "DELETE /admin/users/{user_id}": {"summary": "Soft-delete a user"},
    "PUT /admin/users/{user_id}/suspend": {
        "summary": "Suspend a user (every session ends at once)",
        "request": {"reason": "Reported for abusive messages"},
    },
    "DELETE /admin/users/{user_id}/suspend": {"summary": "Reinstate a suspended user"},
    "GET /admin/therapists": {"summary": "Therapists, filter `verified`"},
    "PATCH /admin/therapists/{user_id}/verify": {
        "summary": "Record a therapist's verification decision",
        "request": {"verified": True, "notes": "Licence checked"},
    },
    "GET /admin/subscriptions": {"summary": "Subscriptions, filters `status` and `plan`"},
    "PATCH /admin/subscriptions/{subscription_id}/cancel": {
        "summary": "Cancel a user's subscription",
        "request": {"reason": "Requested by the user", "immediate": False},
    },
    "GET /admin/payments": {
        "summary": "Payments, filters `status`, `from`, `to`",
        "response": {
            "success": True,
            "data": [
                {
                    "id": "0f6b3a5e-2d7c-4b8e-9c1d-3e4f5a6b7c8d",
                    "transactionId": "M360_3f9c2a7b1d4e4c0a9b8e7d6c5f4a3b2c",
                    "orderId": "OMO2611301234567890",
                    "status": "success",
                    "amount": 299,
                    "amountPaise": 29900,
                    "currency": "INR",
                    "planId": "premium_monthly",
                    "planName": "Premium Monthly",
                    "subscriptionId": "7a1c9e2b-4d6f-4a8b-9c0d-1e2f3a4b5c6d",
                    "paymentMode": "UPI_INTENT",
                    "failureReason": "",
                    "createdAt": "2026-11-30T10:15:00Z",
                    "completedAt": "2026-11-30T10:16:12Z",
                    "refundedAt": None,
                    "user": {"id": "3c2b1a09-8f7e-4d6c-b5a4-938271605f4e", "fullName": "Asha Rao", "email": ""},
                }
            ],
            "pagination": {"page": 1, "limit": 20, "total": 1, "pages": 1},
        },
    },
    "POST /admin/payments/{payment_id}/refund": {
        "summary": "Refund a successful payment through PhonePe",
        "request": {"reason": "Requested by the user"},
    },
    "GET /admin/metrics": {
        "summary": "Platform totals",
        "response": {
            "success": True,
            "data": {
                "users": {"total": 120, "patients": 110, "therapists": 8, "verifiedTherapists": 6},
                "sessions": {"total": 540, "completed": 410, "completionRate": 75.9},
                "subscriptions": {"active": 42, "revenue": 1255800, "currency": "INR"},
            },
        },
    },
    "GET /admin/analytics/dashboard": {"summary": "The analytics dashboard (same as /analytics/dashboard)"},
    "GET /admin/audit-logs": {"summary": "The audit log, newest first (read-only)"},
    "GET /admin/mfa/status": {"summary": "Whether the admin's second factor is on"},
    "POST /admin/mfa/generate-secret": {"summary": "Start MFA enrolment: a new secret, QR code and backup codes"},
    "POST /admin/mfa/enable": {
        "summary": "Finish MFA enrolment with a code from the authenticator app",
        "request": {"mfaCode": _CODE},
    },
    "POST /admin/mfa/disable": {
        "summary": "Turn the second factor off (needs a current code or the password)",
        "request": {"mfaCode": _CODE},
    },
}

# One tag per area of the API (the first path segment), in the order Swagger lists them.
TAGS = [
    {"name": "auth", "description": "Sign-in by one-time code, admin sign-in with MFA, refresh and logout."},
    {"name": "users", "description": "Profiles."},
    {"name": "subscriptions", "description": "Plans and subscriptions."},
    {"name": "payments", "description": "Payments through PhonePe and its callback."},
    {"name": "themed-rooms", "description": "The AR themed-room catalogue and sessions."},
    {"name": "analytics", "description": "Analytics for admins (permission view_analytics), exports."},
    {"name": "admin", "description": "The admin API: users, therapists, subscriptions, payments, audit, MFA."},
]

API_PREFIX = "/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")


def schema_operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation of an OpenAPI schema, in path order, then METHODS order."""
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                yield path, method, operation


def operation_key(method: str, path: str) -> str:
    return f"{method.upper()} {path.removeprefix(API_PREFIX)}"


def _area(path: str) -> str:
    return path.removeprefix(API_PREFIX).strip("/").split("/", 1)[0]


def operations_hook(result: dict[str, Any], generator: object, request: object, public: bool) -> dict[str, Any]:
    """Tags by area, the summaries and the examples of OPERATIONS, applied to every operation of the schema."""
    known_tags = {tag["name"] for tag in TAGS}
    for path, method, operation in schema_operations(result):
        area = _area(path)
        operation["tags"] = [area if area in known_tags else "other"]
        documented = OPERATIONS.get(operation_key(method, path), {})
        if "summary" in documented:
            operation["summary"] = documented["summary"]
        content = operation.get("requestBody", {}).get("content", {})
        if "request" in documented and "application/json" in content:
            content["application/json"]["examples"] = {"working": {"value": documented["request"]}}
        if "response" in documented:
            for status in ("200", "201"):
                answer = operation.get("responses", {}).get(status, {}).get("content", {})
                if "application/json" in answer:
                    answer["application/json"]["examples"] = {"success": {"value": documented["response"]}}
    result["tags"] = TAGS
    return result
