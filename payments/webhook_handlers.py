"""Callbacks about things payments does not own (UPI Autopay subscriptions), routed to the app that owns them.

The webhook view verifies, stores once and de-duplicates every callback as usual; for an
event whose name starts with a registered prefix it then calls that app's handler. Apps
register from `AppConfig.ready()` (explicit, no signals), so payments imports nothing of theirs.

A handler takes `event`, `payload` and `now` (the callback's one reading of the clock) and returns
`(outcome, detail)` with an outcome from `WebhookOutcome`. It must confirm with PhonePe's status API before
changing anything; a `PhonePeError` it raises marks the event retryable (the gateway's next delivery processes it
again).
"""

from collections.abc import Callable

WebhookHandler = Callable[..., tuple[str, str]]

_handlers: dict[str, WebhookHandler] = {}


def register_webhook_handler(prefix: str, handler: WebhookHandler) -> None:
    existing = _handlers.get(prefix)
    if existing is not None and existing is not handler:
        raise RuntimeError(f"A webhook handler for {prefix!r} is already registered.")
    _handlers[prefix] = handler


def webhook_handler_prefixes() -> tuple[str, ...]:
    """The event-name prefixes some app handles (an event none of them reads carries nothing for us)."""
    return tuple(_handlers)


def webhook_handler_for(event: str) -> WebhookHandler | None:
    for prefix, handler in _handlers.items():
        if event.startswith(prefix):
            return handler
    return None
