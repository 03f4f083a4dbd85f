"""The SMTP half of the fakes: enough of RFC 5321 for Django's SMTP backend (EHLO, AUTH PLAIN, MAIL, RCPT,
DATA, RSET, NOOP, QUIT), without TLS (a loopback fake). A queued failure refuses the next recipient with its
reply code, as a provider refuses an address.

Written here rather than taken from aiosmtpd: ~100 lines for a local fake, and no package added to the image
that only a fake would use (docs/dependencies.md).
"""

import base64
import re
import secrets
import socketserver
from email import message_from_bytes, policy

from accounts.otp_providers.fakes.state import FakeState

ADDRESS = re.compile(r"<([^>]*)>")
CODE = re.compile(r"\b(\d{4,10})\b")


class FakeSmtpHandler(socketserver.StreamRequestHandler):
    timeout = 30

    @property
    def state(self) -> FakeState:
        return self.server.state  # type: ignore[attr-defined]

    def _reply(self, code: int, text: str, *, more: list[str] | None = None) -> None:
        lines = [f"{code}-{line}" for line in (more or [])]
        self.wfile.write(("\r\n".join([*lines, f"{code} {text}"]) + "\r\n").encode())

    def handle(self) -> None:
        credentials = self.state.credentials
        needs_auth = bool(credentials.smtp_user)
        authenticated = not needs_auth
        sender: str | None = None
        recipients: list[str] = []
        self._reply(220, "fake-smtp ESMTP ready")
        while line := self.rfile.readline(65536):
            verb, _, argument = line.decode(errors="replace").rstrip("\r\n").partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                self._reply(250, "8BITMIME", more=["fake-smtp", "AUTH PLAIN"] if needs_auth else ["fake-smtp"])
            elif verb == "AUTH":
                mechanism, _, initial = argument.partition(" ")
                try:
                    _, user, password = base64.b64decode(initial).decode().split("\0")
                except ValueError:
                    user = password = ""
                if mechanism.upper() == "PLAIN" and (user, password) == (
                    credentials.smtp_user,
                    credentials.smtp_password,
                ):
                    authenticated = True
                    self._reply(235, "2.7.0 Authentication successful")
                else:
                    self.state.record_request("email", "unauthorized")
                    self._reply(535, "5.7.8 Authentication credentials invalid")
            elif verb == "MAIL":
                if not authenticated:
                    self._reply(530, "5.7.0 Authentication required")
                    continue
                found = ADDRESS.search(argument)
                sender, recipients = (found.group(1) if found else ""), []
                self._reply(250, "2.1.0 OK")
            elif verb == "RCPT":
                if sender is None:
                    self._reply(503, "5.5.1 MAIL first")
                    continue
                if failure := self.state.next_failure("email"):
                    self.state.record_request("email", "failed")
                    self._reply(failure.status, f"5.1.1 Recipient refused ({failure.code})")
                    continue
                found = ADDRESS.search(argument)
                recipients.append(found.group(1) if found else "")
                self._reply(250, "2.1.5 OK")
            elif verb == "DATA":
                if not recipients:
                    self._reply(503, "5.5.1 RCPT first")
                    continue
                self._reply(354, "End data with <CR><LF>.<CR><LF>")
                self._receive(recipients)
                sender, recipients = None, []
                self._reply(250, "2.0.0 OK queued")
            elif verb == "RSET":
                sender, recipients = None, []
                self._reply(250, "2.0.0 OK")
            elif verb == "NOOP":
                self._reply(250, "2.0.0 OK")
            elif verb == "QUIT":
                self._reply(221, "2.0.0 Bye")
                return
            else:
                self._reply(502, "5.5.2 Command not recognised")

    def _receive(self, recipients: list[str]) -> None:
        lines = []
        while (line := self.rfile.readline(1 << 20)) not in (b".\r\n", b".\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        message = message_from_bytes(b"".join(lines), policy=policy.default)
        part = message.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""
        found = CODE.search(str(text))
        message_id = str(message.get("Message-ID") or f"<{secrets.token_hex(8)}@fake-smtp>")
        self.state.record_request("email", "sent")
        for recipient in recipients:
            self.state.deliver(
                channel="email", to=recipient, code=found.group(1) if found else "", message_id=message_id
            )


class FakeSmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: FakeState):
        super().__init__(address, FakeSmtpHandler)
        self.state = state
