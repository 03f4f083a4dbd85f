#!/usr/bin/env python3
"""Smoke test of a running MANAS360 server: health, metrics, sign-in, admin, themes and payment, step by step.

    make smoke BASE_URL=http://localhost:5000
    .venv/bin/python scripts/smoke.py --base-url http://localhost:5000 [--otp 123456] [--admin-totp-secret ...]

Plain HTTP only (requests); it imports nothing from the project, so it can be pointed at any deployment.
Prints one line per step with its HTTP status and exits 1 on the first failure (0 when all pass).

Where the OTP comes from, in this order: `--otp`/`SMOKE_OTP`; `data.devOtp` when the server runs with
DEBUG=1 and OTP_DEV_FIXED_CODE set; otherwise, on a terminal, it asks for the code the server printed
(`make run` prints `[dev] OTP for +91...: 123456` in its log).

Admin: signs in with the seeded admin (`admin@manas360.local`, SEED_ADMIN_PASSWORD). If the admin has no MFA
yet, the script enrols it through the API (generate-secret + enable with a pyotp code), saves the secret to
`--admin-totp-secret-file` (default var/smoke-admin-totp-secret, development only) and signs in again
through verify-mfa. If MFA is already enrolled it needs the secret (`--admin-totp-secret`,
SMOKE_ADMIN_TOTP_SECRET or that file).

Payments need a PhonePe (the simulator, which `make run` starts; or `make simulator`); without one, payment create is
a 502 `gateway_unavailable` and the smoke test fails with that hint.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

import pyotp
import requests

DEFAULT_ADMIN_EMAIL = "admin@manas360.local"
DEFAULT_ADMIN_PASSWORD = "Admin-pass-123!"  # noqa: S105 - the documented development seed password
DEFAULT_PHONE = "+91 9876543210"  # the seeded demo patient's number


class SmokeFailure(Exception):
    pass


class Smoke:
    def __init__(self, base_url: str, *, timeout: float = 20, out=sys.stdout):
        self.base_url = base_url.rstrip("/")
        self.api = self.base_url + "/api/v1"
        self.http = requests.Session()
        # A Bearer client like curl or the mobile apps: it keeps no cookies, so "no token" means none.
        self.http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self.timeout = timeout
        self.out = out
        self.passed = 0

    # --- plumbing --------------------------------------------------------------------------------------------

    def request(self, step: str, method: str, url: str, *, expect: int | tuple[int, ...], token=None, **kwargs):
        expected = (expect,) if isinstance(expect, int) else expect
        headers = dict(kwargs.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        path = url[len(self.base_url) :] if url.startswith(self.base_url) else url
        started = time.monotonic()
        try:
            response = self.http.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            self._line("FAIL", "---", method, path, step, f"{type(exc).__name__}: {exc}")
            raise SmokeFailure(step) from exc
        elapsed_ms = (time.monotonic() - started) * 1000
        if response.status_code not in expected:
            detail = _error_text(response)
            self._line("FAIL", response.status_code, method, path, step, f"expected {expected}; {detail}")
            raise SmokeFailure(step)
        self._line("PASS", response.status_code, method, path, step, f"{elapsed_ms:.0f} ms")
        self.passed += 1
        return response

    def check(self, step: str, condition: bool, detail: str = "") -> None:
        if not condition:
            self._line("FAIL", "---", "", "", step, detail)
            raise SmokeFailure(step)

    def note(self, text: str) -> None:
        print(f"       {text}", file=self.out, flush=True)

    def _line(self, verdict, status, method, path, step, detail) -> None:
        target = f"{method} {path}".strip()
        print(f"[{verdict}] {status!s:>3}  {step:<44} {target:<46} {detail}", file=self.out, flush=True)

    def get(self, step, path, **kwargs):
        return self.request(step, "GET", self._url(path), **kwargs)

    def post(self, step, path, body=None, **kwargs):
        return self.request(step, "POST", self._url(path), json=body if body is not None else {}, **kwargs)

    def _url(self, path: str) -> str:
        if path.startswith(("/api/", "/health", "/metrics")):
            return self.base_url + path
        return self.api + path

    # --- the walk-through -----------------------------------------------------------------------------------

    def health(self, metrics_token: str | None) -> None:
        body = self.get("/health responds", "/health", expect=200).json()
        self.check("/health says ok", body.get("status") == "ok", str(body))
        body = self.get("/health/db shows database connected", "/health/db", expect=200).json()
        self.check("/health/db connected", body.get("database") == "connected", str(body))
        headers = {"Authorization": f"Bearer {metrics_token}"} if metrics_token else {}
        text = self.get("/metrics shows stats", "/metrics", expect=200, headers=headers).text
        self.check("/metrics is Prometheus text", "# TYPE" in text, text[:200])

    def patient_sign_in(self, phone: str, otp: str | None) -> str:
        sent = self._send_otp(phone)
        code = otp or sent.get("data", {}).get("devOtp")
        if code:
            self.note(f"OTP: {'devOtp from the server (development fixed code)' if not otp else 'given'}")
        elif sys.stdin.isatty():
            code = input("       Enter the OTP the server printed in its log: ").strip()
        self.check(
            "OTP available",
            bool(code),
            "no devOtp in the answer: pass --otp, or run the server with DEBUG=1 OTP_DEV_FIXED_CODE=123456",
        )
        verified = self.post("verify OTP", "/auth/verify-otp", {"phone": phone, "otp": code}, expect=200).json()
        token = verified.get("data", {}).get("tokens", {}).get("accessToken")
        self.check("verify-otp returns data.tokens.accessToken", bool(token), str(verified)[:200])
        self.check("verify-otp returns the user", bool(verified.get("user", {}).get("id")), str(verified)[:200])
        return token

    def _send_otp(self, phone: str) -> dict:
        for _ in range(2):
            response = self.post("send OTP", "/auth/send-otp", {"phone": phone}, expect=(200, 429))
            body = response.json()
            if response.status_code == 200:
                return body
            wait = int(body.get("retryAfter") or response.headers.get("Retry-After") or 0)
            if body.get("code") != "otp_resend_too_soon" or wait > 70:
                self.check("send OTP not rate-limited", False, f"{body.get('code')}: {body.get('message')}")
            self.note(f"resend cooldown: waiting {wait} s before asking again")
            time.sleep(wait + 1)
        self.check("send OTP", False, "still rate-limited")
        return {}

    def patient_calls(self, token: str) -> None:
        me = self.get("GET /users/me", "/users/me", token=token, expect=200).json()
        self.check("/users/me has data.role", isinstance(me.get("data", {}).get("role"), str), str(me)[:200])
        self.note(f"signed in as {me['data'].get('phoneNumber') or me['data'].get('email')} ({me['data']['role']})")
        self.get("protected endpoint requires a token", "/users/me", expect=401)
        self.get("admin endpoint refuses a patient", "/admin/users?page=1&limit=10", token=token, expect=403)

    def admin_sign_in(self, email: str, password: str, secret: str | None, secret_file: Path | None) -> str:
        login = self.post("admin login", "/auth/admin-login", {"email": email, "password": password}, expect=200)
        body = login.json()
        if body.get("mfaRequired"):
            secret = secret or _read(secret_file)
            self.check(
                "admin TOTP secret known",
                bool(secret),
                "the admin has MFA enrolled: pass --admin-totp-secret or SMOKE_ADMIN_TOTP_SECRET",
            )
            return self._verify_mfa(body["mfaToken"], secret)
        token = body.get("data", {}).get("tokens", {}).get("accessToken")
        self.check("restricted admin session issued", bool(token) and body.get("mfaEnrollmentRequired"), str(body))
        self.get("restricted session cannot list users", "/admin/users", token=token, expect=403)
        status = self.get("MFA status", "/admin/mfa/status", token=token, expect=200).json()
        self.check("MFA not yet enabled", status["data"]["mfaEnabled"] is False, str(status))
        generated = self.post("MFA generate-secret", "/admin/mfa/generate-secret", {}, token=token, expect=200).json()
        secret = generated["data"]["secret"]
        self.check("backup codes shown once", len(generated["data"].get("backupCodes") or []) == 10, "")
        code = pyotp.TOTP(secret).now()
        self.post(
            "MFA enable (pyotp)", "/admin/mfa/enable", {"secret": secret, "mfaCode": code}, token=token, expect=200
        )
        if secret_file is not None:
            secret_file.parent.mkdir(parents=True, exist_ok=True)
            secret_file.write_text(secret + "\n")
            secret_file.chmod(0o600)
            self.note(f"admin MFA enrolled; TOTP secret saved to {secret_file} (development only)")
        # Sign in again the way an enrolled admin does: password, then the second factor.
        again = self.post(
            "admin login (enrolled)", "/auth/admin-login", {"email": email, "password": password}, expect=200
        )
        self.check("admin login asks for MFA", again.json().get("mfaRequired") is True, again.text[:200])
        return self._verify_mfa(again.json()["mfaToken"], secret)

    def _verify_mfa(self, mfa_token: str, secret: str) -> str:
        totp = pyotp.TOTP(secret)
        # The current step's code may have been used already (enrolment, or a run seconds ago): the next step's
        # code is inside the ±1 step window and has not.
        body: dict = {}
        for _ in range(3):
            code = totp.at(time.time() + 30)
            response = self.post(
                "admin verify-mfa",
                "/auth/admin-login/verify-mfa",
                {"mfaToken": mfa_token, "mfaCode": code},
                expect=(200, 401),
            )
            body = response.json()
            if response.status_code == 200:
                token = body.get("data", {}).get("tokens", {}).get("accessToken")
                self.check("verify-mfa returns an access token", bool(token), str(body)[:200])
                return token
            if body.get("code") != "mfa_code_reused":
                break
            self.note("that code was used already; waiting for the next 30 s step")
            time.sleep(30.5 - time.time() % 30)
        self.check("admin MFA accepted", False, f"{body.get('code')}: {body.get('message')}")
        return ""

    def admin_calls(self, token: str) -> None:
        users = self.get("admin users (MFA complete)", "/admin/users?page=1&limit=10", token=token, expect=200).json()
        self.check("admin users: data is a list", isinstance(users.get("data"), list), str(users)[:200])
        self.check("admin users: pagination", "total" in users.get("pagination", {}), str(users)[:200])
        self.note(f"{users['pagination']['total']} users")

    def themes(self) -> None:
        body = self.get("themed rooms (public)", "/themed-rooms/themes", expect=200).json()
        self.check("themes listed", isinstance(body.get("themes"), list) and len(body["themes"]) > 0, str(body)[:200])
        self.note(f"{len(body['themes'])} themes, e.g. {', '.join(t['id'] for t in body['themes'][:3])}")

    def payment(self, token: str) -> None:
        # The legacy web body names `plan_premium` (alias of premium_monthly, ₹299) with amount 999: the amount
        # always comes from the plan, so a different client amount is refused.
        refused = self.post(
            "payment with a wrong amount is refused",
            "/payments/create",
            {"planId": "plan_premium", "amount": 999, "currency": "INR"},
            token=token,
            expect=400,
        ).json()
        self.check("amount_mismatch", refused.get("code") == "amount_mismatch", str(refused)[:200])
        self.post("payment requires a token", "/payments/create", {"planId": "premium_monthly"}, expect=401)
        response = self.post(
            "payment create",
            "/payments/create",
            {"planId": "plan_premium", "amount": 299, "currency": "INR"},
            token=token,
            expect=(201, 502),
        )
        body = response.json()
        self.check(
            "PhonePe reachable",
            response.status_code == 201,
            f"{body.get('code')}: run the PhonePe simulator (make run or make simulator) or configure PhonePe",
        )
        data = body["data"]
        self.check(
            "payment pending with a checkout URL", data["status"] == "pending" and data["redirectUrl"], str(data)
        )
        self.note(f"payment {data['transactionId']}: {data['amountPaise']} paise, checkout {data['redirectUrl']}")

    def logout(self, token: str) -> None:
        self.post("logout", "/auth/logout", {}, token=token, expect=200)
        self.get("the token is refused after logout", "/users/me", token=token, expect=401)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _read(path: Path | None) -> str | None:
    if path is not None and path.is_file():
        return path.read_text().strip() or None
    return None


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].replace("\n", " ")
    if isinstance(body, dict):
        return f"{body.get('code')}: {body.get('message')}"
    return str(body)[:200]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL") or "http://localhost:5000")
    parser.add_argument("--phone", default=os.environ.get("SMOKE_PHONE") or DEFAULT_PHONE)
    parser.add_argument("--otp", default=os.environ.get("SMOKE_OTP") or None)
    parser.add_argument("--admin-email", default=os.environ.get("SMOKE_ADMIN_EMAIL") or DEFAULT_ADMIN_EMAIL)
    parser.add_argument(
        "--admin-password",
        default=os.environ.get("SMOKE_ADMIN_PASSWORD")
        or os.environ.get("SEED_ADMIN_PASSWORD")
        or DEFAULT_ADMIN_PASSWORD,
    )
    parser.add_argument("--admin-totp-secret", default=os.environ.get("SMOKE_ADMIN_TOTP_SECRET") or None)
    parser.add_argument(
        "--admin-totp-secret-file",
        default=os.environ.get("SMOKE_ADMIN_TOTP_SECRET_FILE", "var/smoke-admin-totp-secret"),
        help="Where an enrolment made by this script keeps the TOTP secret ('' to keep it nowhere).",
    )
    parser.add_argument("--metrics-token", default=os.environ.get("METRICS_TOKEN") or None)
    args = parser.parse_args(argv)

    smoke = Smoke(args.base_url)
    secret_file = Path(args.admin_totp_secret_file) if args.admin_totp_secret_file else None
    _say(f"MANAS360 smoke test against {smoke.base_url}")
    try:
        smoke.health(args.metrics_token)
        token = smoke.patient_sign_in(args.phone, args.otp)
        smoke.patient_calls(token)
        admin_token = smoke.admin_sign_in(args.admin_email, args.admin_password, args.admin_totp_secret, secret_file)
        smoke.admin_calls(admin_token)
        smoke.themes()
        smoke.payment(token)
        smoke.logout(token)
    except SmokeFailure as failure:
        _say(f"SMOKE FAILED at: {failure} ({smoke.passed} steps passed before it)")
        return 1
    _say(f"SMOKE OK: {smoke.passed} requests, all as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
