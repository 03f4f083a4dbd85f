"""MSG91 (SMS in India, with the DLT template registration built in): the Flow API.

`POST {OTP_MSG91_API_URL}` (default `https://control.msg91.com/api/v5/flow`) with the `authkey` header and
`{"template_id": OTP_MSG91_TEMPLATE_ID, "short_url": "0", "recipients": [{"mobiles": "91…", "<var>": code}]}`.
The template (its DLT template id and sender id are mapped in MSG91's panel) holds the text; `<var>` is the
name of its code variable (`OTP_MSG91_CODE_VARIABLE`, default `otp`, written `##otp##` in the template).

MSG91 answers JSON `{"type": "success", "message": "<request id>"}`; a refusal is `{"type": "error",
"message": "...", "code": "..."}`, sometimes with HTTP 200, so the `type` decides, not the status alone. Its
numeric `code` (e.g. 201/207 a bad auth key, 211 an unknown template, 301 no balance, 418 an IP not whitelisted)
is what we log and record; without one, the HTTP status.
"""

from typing import Any

import requests
from django.conf import settings

from accounts.otp_providers.base import Accepted, ProviderRefused
from manas360.config_checks import OTP_CHANNEL_SETTINGS


def msg91_request_body(*, to: str, code: str, template_id: str, variable: str) -> dict[str, Any]:
    return {
        "template_id": template_id,
        "short_url": "0",
        "recipients": [{"mobiles": to.removeprefix("+"), variable: code}],
    }


class Msg91Sender:
    channel = "sms"
    provider = "msg91"

    def missing_settings(self) -> list[str]:
        return [name for name in OTP_CHANNEL_SETTINGS["sms"] if not getattr(settings, name)]

    def send(self, *, to: str, code: str, ttl_seconds: int) -> Accepted:
        body = msg91_request_body(
            to=to, code=code, template_id=settings.OTP_MSG91_TEMPLATE_ID, variable=settings.OTP_MSG91_CODE_VARIABLE
        )
        try:
            response = requests.post(
                settings.OTP_MSG91_API_URL,
                json=body,
                headers={"authkey": settings.OTP_MSG91_AUTH_KEY, "Accept": "application/json"},
                timeout=settings.OTP_PROVIDER_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise ProviderRefused(provider_code=type(exc).__name__) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            answer = {}
        if 200 <= response.status_code < 300 and answer.get("type") == "success":
            return Accepted(message_id=str(answer.get("message") or ""), http_status=response.status_code)
        provider_code = answer.get("code")
        raise ProviderRefused(
            provider_code=str(provider_code) if provider_code not in (None, "") else f"http_{response.status_code}",
            http_status=response.status_code,
        )
