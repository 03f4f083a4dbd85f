"""What the fake providers remember: the credentials they accept, the messages delivered, queued failures."""

import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FakeCredentials:
    whatsapp_phone_number_id: str
    whatsapp_token: str
    whatsapp_template: str
    msg91_auth_key: str
    msg91_template_id: str
    msg91_code_variable: str
    smtp_user: str = ""
    smtp_password: str = ""


@dataclass(frozen=True)
class Failure:
    """One queued refusal: the provider's HTTP status (SMTP reply code for email) and its error code."""

    status: int
    code: str


# What each fake answers by default when told to fail: a recipient the provider cannot reach.
DEFAULT_FAILURES = {
    "whatsapp": Failure(status=400, code="131026"),  # Graph: message undeliverable (number not on WhatsApp)
    "sms": Failure(status=200, code="301"),  # MSG91: insufficient balance (answered with HTTP 200, type error)
    "email": Failure(status=550, code="550"),  # SMTP: mailbox unavailable
}


@dataclass
class FakeState:
    credentials: FakeCredentials
    echo: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    delivered: threading.Condition = field(init=False)
    messages: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.delivered = threading.Condition(self.lock)

    def fail(self, channel: str, *, times: int = 1, status: int | None = None, code: str | None = None) -> None:
        default = DEFAULT_FAILURES[channel]
        failure = Failure(status=status or default.status, code=code or default.code)
        with self.lock:
            self.failures.setdefault(channel, []).extend([failure] * times)

    def next_failure(self, channel: str) -> Failure | None:
        with self.lock:
            queue = self.failures.get(channel)
            return queue.pop(0) if queue else None

    def record_request(self, channel: str, outcome: str) -> None:
        with self.lock:
            self.requests.append({"channel": channel, "outcome": outcome, "at": time.time()})

    def deliver(self, *, channel: str, to: str, code: str, message_id: str) -> None:
        """A message the fake accepted. Like the development console, it shows the code (a local fake only)."""
        with self.delivered:
            self.messages.append({"channel": channel, "to": to, "code": code, "id": message_id, "at": time.time()})
            self.delivered.notify_all()
        if self.echo:
            print(f"[otp fake {channel}] code for {to}: {code}", flush=True)  # noqa: T201

    def last_code(self, to: str, *, wait_seconds: float = 0.0, channel: str | None = None) -> str | None:
        def find() -> str | None:
            for message in reversed(self.messages):
                if message["to"] == to and channel in (None, message["channel"]):
                    return message["code"]
            return None

        with self.delivered:
            self.delivered.wait_for(lambda: find() is not None, timeout=wait_seconds)
            return find()

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.requests.clear()
            self.failures.clear()
