"""WhatsApp Business Cloud API (Meta Graph API): an authentication template with a copy-code button.

`POST {OTP_WHATSAPP_API_URL}/{OTP_WHATSAPP_API_VERSION}/{OTP_WHATSAPP_PHONE_NUMBER_ID}/messages` with
`Authorization: Bearer OTP_WHATSAPP_ACCESS_TOKEN`. Authentication templates have a body fixed by WhatsApp
("<code> is your verification code."); the code goes in the body's one parameter and in the copy-code
button's URL parameter (the button is a `url` button once the template is approved).

Success is 200 with `messages[0].id` (a `wamid.…`). A refusal is a non-2xx answer with Graph's error object,
`{"error": {"message", "type", "code", "error_subcode"?, "error_data": {"details"}, "fbtrace_id"}}`; its `code`
(e.g. 131026 "message undeliverable": the number is not on WhatsApp, 190 an expired token, 132001 an unknown
template, 130429 a rate limit) is what we log and record.
"""

from typing import Any

import requests
from django.conf import settings

from accounts.otp_providers.base import Accepted, ProviderRefused
from manas360.config_checks import OTP_CHANNEL_SETTINGS


def whatsapp_request_body(*, to: str, code: str, template: str, language: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to.removeprefix("+"),
        "type": "template",
        "template": {
            "name": template,
            "language": {"code": language},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": code}]},
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": code}]},
            ],
        },
    }


def graph_error_code(response: requests.Response) -> str:
    """Graph's `error.code` (with `error_subcode` when there is one), else the HTTP status."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    if not isinstance(error, dict) or error.get("code") is None:
        return f"http_{response.status_code}"
    subcode = error.get("error_subcode")
    return f"{error['code']}/{subcode}" if subcode else str(error["code"])


class WhatsAppCloudSender:
    channel = "whatsapp"
    provider = "meta_cloud"

    def missing_settings(self) -> list[str]:
        return [name for name in OTP_CHANNEL_SETTINGS["whatsapp"] if not getattr(settings, name)]

    def send(self, *, to: str, code: str, ttl_seconds: int) -> Accepted:
        url = (
            f"{settings.OTP_WHATSAPP_API_URL.rstrip('/')}/{settings.OTP_WHATSAPP_API_VERSION}/"
            f"{settings.OTP_WHATSAPP_PHONE_NUMBER_ID}/messages"
        )
        body = whatsapp_request_body(
            to=to,
            code=code,
            template=settings.OTP_WHATSAPP_TEMPLATE_NAME,
            language=settings.OTP_WHATSAPP_TEMPLATE_LANGUAGE,
        )
        try:
            response = requests.post(
                url,
                json=body,
                headers={"Authorization": f"Bearer {settings.OTP_WHATSAPP_ACCESS_TOKEN}"},
                timeout=settings.OTP_PROVIDER_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise ProviderRefused(provider_code=type(exc).__name__) from exc
        if not 200 <= response.status_code < 300:
            raise ProviderRefused(provider_code=graph_error_code(response), http_status=response.status_code)
        try:
            messages = response.json().get("messages") or []
            message_id = str(messages[0].get("id") or "")
        except (ValueError, AttributeError, IndexError, TypeError):
            message_id = ""
        if not message_id:  # a 2xx without a message id is not an accepted message
            raise ProviderRefused(provider_code="no_message_id", http_status=response.status_code)
        return Accepted(message_id=message_id, http_status=response.status_code)
