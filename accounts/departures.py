"""What the apps built on accounts stop when a user leaves: their account is deleted or suspended.

Accounts imports no app above it (docs/architecture-decisions.md), so an app that holds something that must end
with the account (Autopay's mandates at PhonePe) registers a handler from its `AppConfig.ready()`. The handlers
run inside the transaction that records the departure: their writes commit or roll back with it. A handler that
must call the outside world does so after commit (`transaction.on_commit`), never while the user row is locked,
and leaves a retryable record in case that call fails.
"""

from datetime import datetime
from typing import Protocol

from accounts.models import User


class DepartureHandler(Protocol):
    def __call__(self, *, user: User, actor: User | None, reason: str, now: datetime) -> None: ...


# Why the user left, as recorded in audit rows and end reasons.
ACCOUNT_DELETED = "account deleted"
ACCOUNT_SUSPENDED = "account suspended"

_handlers: dict[str, DepartureHandler] = {}


def user_departure_register(name: str, handler: DepartureHandler) -> None:
    """Call `handler(user=, actor=, reason=, now=)` whenever a user is deleted or suspended. Handlers are idempotent."""
    _handlers[name] = handler


def user_departed(*, user: User, actor: User | None, reason: str, now: datetime) -> None:
    """Tell every registered app that `user` has left at `now` (called by the delete and suspend services)."""
    for handler in _handlers.values():
        handler(user=user, actor=actor, reason=reason, now=now)
