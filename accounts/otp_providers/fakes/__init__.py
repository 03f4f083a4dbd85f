"""Local fakes of the OTP providers (like the PhonePe simulator): one HTTP port serving the WhatsApp Cloud API
and MSG91's Flow API, one SMTP port. `manage.py otp_provider_fakes` runs them; tests start them in-process.

`OtpFakes.settings()` gives the settings that point our senders at a running fake (tests use it with
pytest-django's `settings`; scripts and servers started by tests with `OtpFakes.environment()`).
"""

import threading
from http.server import ThreadingHTTPServer

from accounts.otp_providers.fakes.http import FakeProvidersHandler
from accounts.otp_providers.fakes.smtp import FakeSmtpServer
from accounts.otp_providers.fakes.state import FakeCredentials, FakeState

FAKE_CREDENTIALS = FakeCredentials(
    whatsapp_phone_number_id="100000000000001",
    whatsapp_token="fake-whatsapp-access-token",  # noqa: S106 - a local fake only
    whatsapp_template="manas360_sign_in_code",
    msg91_auth_key="fake-msg91-auth-key",
    msg91_template_id="fake-msg91-template",
    msg91_code_variable="otp",
    smtp_user="fake-smtp-user",
    smtp_password="fake-smtp-password",  # noqa: S106 - a local fake only
)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: FakeState):
        super().__init__(address, FakeProvidersHandler)
        self.state = state


class OtpFakes:
    def __init__(self, *, host: str, port: int, smtp_port: int, credentials: FakeCredentials, echo: bool):
        self.state = FakeState(credentials=credentials, echo=echo)
        self.http = _HttpServer((host, port), self.state)
        self.smtp = FakeSmtpServer((host, smtp_port), self.state)
        self.host = host
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return self.http.server_address[1]

    @property
    def smtp_port(self) -> int:
        return self.smtp.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "OtpFakes":
        for name, server in (("otp-fakes-http", self.http), ("otp-fakes-smtp", self.smtp)):
            thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in (self.http, self.smtp):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    # --- for tests --------------------------------------------------------------------
    @property
    def messages(self) -> list[dict]:
        with self.state.lock:
            return list(self.state.messages)

    def fail(self, channel: str, *, times: int = 1, status: int | None = None, code: str | None = None) -> None:
        self.state.fail(channel, times=times, status=status, code=code)

    def last_code(self, to: str, *, channel: str | None = None, wait_seconds: float = 0.0) -> str | None:
        return self.state.last_code(to, channel=channel, wait_seconds=wait_seconds)

    def settings(self) -> dict[str, object]:
        """Settings that deliver through this fake with the production channel (values typed as settings.py)."""
        credentials = self.state.credentials
        return {
            "OTP_DELIVERY_CHANNEL": "accounts.otp_delivery.ProviderChannel",
            "OTP_WHATSAPP_API_URL": self.url,
            "OTP_WHATSAPP_PHONE_NUMBER_ID": credentials.whatsapp_phone_number_id,
            "OTP_WHATSAPP_ACCESS_TOKEN": credentials.whatsapp_token,
            "OTP_WHATSAPP_TEMPLATE_NAME": credentials.whatsapp_template,
            "OTP_MSG91_API_URL": f"{self.url}/api/v5/flow",
            "OTP_MSG91_AUTH_KEY": credentials.msg91_auth_key,
            "OTP_MSG91_TEMPLATE_ID": credentials.msg91_template_id,
            "OTP_MSG91_CODE_VARIABLE": credentials.msg91_code_variable,
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.smtp_port,
            "EMAIL_HOST_USER": credentials.smtp_user,
            "EMAIL_HOST_PASSWORD": credentials.smtp_password,
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "DEFAULT_FROM_EMAIL": "MANAS360 <no-reply@manas360.test>",
        }

    def environment(self) -> dict[str, str]:
        """The same as environment variables (for a server or script started in another process)."""
        return {
            name: ("1" if value is True else "0" if value is False else str(value))
            for name, value in self.settings().items()
        }


def start_otp_fakes(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    smtp_port: int = 0,
    credentials: FakeCredentials = FAKE_CREDENTIALS,
    echo: bool = True,
) -> OtpFakes:
    """Start both fakes on background threads (`port=0`: free ports); call `.stop()` when done."""
    return OtpFakes(host=host, port=port, smtp_port=smtp_port, credentials=credentials, echo=echo).start()
