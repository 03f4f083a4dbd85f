# ruff: noqa: S311 - random test data for a load generator, not secrets
"""The mixed patient journey as a Locust load test: `make loadtest` runs it (loadtest/run.py).

Each simulated user is one patient on their own device and address (X-Forwarded-For behind one trusted
proxy, so the per-IP limits see many clients, as in production behind the load balancer):

  on start: POST /auth/send-otp -> the code from the fake SMS provider -> POST /auth/verify-otp
  then, weighted:  GET /users/me, GET /subscriptions/plans, GET /themed-rooms/themes,
                   POST /themed-rooms/sessions + PATCH /themed-rooms/sessions/<id>/end,
                   POST /payments/create (a real PhonePe order on the simulator), GET /subscriptions/current

Every request must answer 2xx; anything else is counted as an error. LOADTEST_SMS_URL names the fake SMS
provider that receives the codes (run.py starts it); the pacing is `constant_throughput(LOADTEST_USER_RPS)`.
"""

import itertools
import os
import random

from locust import FastHttpUser, constant_throughput, task

SMS_URL = os.environ.get("LOADTEST_SMS_URL", "http://127.0.0.1:18090")
USER_RPS = float(os.environ.get("LOADTEST_USER_RPS", "2"))
_numbers = itertools.count(random.randint(10_000_000, 40_000_000))


class Patient(FastHttpUser):
    wait_time = constant_throughput(USER_RPS)

    def on_start(self):
        number = next(_numbers)
        self.phone = f"+9197{number:08d}"
        self.client_ip = f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"
        headers = {"X-Forwarded-For": self.client_ip}
        self.client.post(
            "/api/v1/auth/send-otp", json={"phoneNumber": self.phone}, headers=headers, name="auth/send-otp"
        )
        code = self._code_from_sms_provider()
        with self.client.post(
            "/api/v1/auth/verify-otp",
            json={"phoneNumber": self.phone, "otp": code},
            headers=headers,
            name="auth/verify-otp",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"sign-in failed: {response.status_code} {response.text[:200]}")
                self.headers = headers
                return
            token = response.json()["data"]["tokens"]["accessToken"]
        self.headers = {**headers, "Authorization": f"Bearer {token}"}
        themes = self.client.get("/api/v1/themed-rooms/themes?tier=free", headers=self.headers, name="themes?tier")
        self.free_themes = [theme["id"] for theme in themes.json()["data"]] or ["ocean-waves"]

    def _code_from_sms_provider(self) -> str:
        import requests  # the fake provider is not the system under test: plain requests, not counted

        return requests.get(f"{SMS_URL}/fake/codes/{self.phone}", timeout=10).json()["code"]

    @task(3)
    def profile(self):
        self.client.get("/api/v1/users/me", headers=self.headers, name="users/me")

    @task(2)
    def plans(self):
        self.client.get("/api/v1/subscriptions/plans", headers=self.headers, name="subscriptions/plans")

    @task(3)
    def themes(self):
        self.client.get("/api/v1/themed-rooms/themes", headers=self.headers, name="themed-rooms/themes")

    @task(1)
    def current_subscription(self):
        self.client.get("/api/v1/subscriptions/current", headers=self.headers, name="subscriptions/current")

    @task(1)
    def room_session(self):
        started = self.client.post(
            "/api/v1/themed-rooms/sessions",
            json={"themeId": random.choice(self.free_themes), "moodBefore": random.randint(1, 10)},
            headers=self.headers,
            name="themed-rooms/sessions (start)",
        )
        if started.status_code != 201:
            return
        session_id = started.json()["data"]["id"]
        self.client.request(
            "PATCH",
            f"/api/v1/themed-rooms/sessions/{session_id}/end",
            json={"rating": random.randint(1, 5), "moodAfter": random.randint(1, 10)},
            headers=self.headers,
            name="themed-rooms/sessions/:id/end",
        )

    @task(1)
    def create_payment(self):
        self.client.post(
            "/api/v1/payments/create",
            json={"planId": random.choice(["premium_monthly", "premium_yearly", "track_single"])},
            headers=self.headers,
            name="payments/create",
        )
