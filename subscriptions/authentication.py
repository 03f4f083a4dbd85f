"""API authentication that reads the caller's active subscription in the same statement as the session check.

`/users/me` and the signed-in theme catalogue need the caller's active subscription on every request. Reading
it with the session and user (two LEFT JOINs: at most one row, by the one-active-subscription-per-user
constraint) saves those requests a database round trip, for two indexed joins on every other authenticated
request (docs/performance.md). The session check itself is unchanged (accounts.authentication).

The subscription read here is what `subscription_get_active(user=)` returns at authentication time; only read
paths use it, through `subscriptions.selectors.subscription_get_active_for_request`. Anything that changes a
subscription reads it again.
"""

import uuid
from typing import Any, cast

from django.utils import timezone

from accounts.authentication import TokenSessionAuthentication
from accounts.models import AuthSession, User
from manas360.db_rows import JoinedRowQuery
from subscriptions.models import Plan, Subscription, SubscriptionStatus

_SESSION, _USER, _SUB, _PLAN = AuthSession._meta, User._meta, Subscription._meta, Plan._meta
# Concrete columns (typed Any: Django's `get_field` may also answer a reverse relation).
_SESSION_USER_FIELD: Any = _SESSION.get_field("user")
_SUB_USER, _SUB_STATUS, _SUB_END, _SUB_PLAN = (
    cast(Any, _SUB.get_field(name)) for name in ("user", "status", "end_date", "plan")
)
_SESSION_PK, _USER_PK, _PLAN_PK = (cast(Any, meta.pk) for meta in (_SESSION, _USER, _PLAN))
_SESSION_TABLE, _USER_TABLE, _SUB_TABLE, _PLAN_TABLE = (meta.db_table for meta in (_SESSION, _USER, _SUB, _PLAN))

# AUTHENTICATED_WITH marks a session read by this class: `active_subscription` is then meaningful (None: none).
AUTHENTICATED_WITH = "active_subscription"

_SESSION_USER_SUBSCRIPTION = JoinedRowQuery(
    [(AuthSession, "s"), (User, "u"), (Subscription, "sub"), (Plan, "p")],
    lambda q: (
        f"FROM {q(_SESSION_TABLE)} {q('s')} "
        f"INNER JOIN {q(_USER_TABLE)} {q('u')} "
        f"ON {q('u')}.{q(_USER_PK.column)} = {q('s')}.{q(_SESSION_USER_FIELD.column)} "
        f"LEFT JOIN {q(_SUB_TABLE)} {q('sub')} "
        f"ON {q('sub')}.{q(_SUB_USER.column)} = {q('u')}.{q(_USER_PK.column)} "
        f"AND {q('sub')}.{q(_SUB_STATUS.column)} = %s "
        f"AND ({q('sub')}.{q(_SUB_END.column)} IS NULL OR {q('sub')}.{q(_SUB_END.column)} > %s) "
        f"LEFT JOIN {q(_PLAN_TABLE)} {q('p')} ON {q('p')}.{q(_PLAN_PK.column)} = {q('sub')}.{q(_SUB_PLAN.column)} "
        f"WHERE {q('s')}.{q(_SESSION_PK.column)} = %s"
    ),
    optional=("sub", "p"),
)


def session_with_user_and_subscription(session_id: object) -> AuthSession | None:
    """The session, its user and (`session.active_subscription`) the user's active subscription with its plan."""
    try:
        pk = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(str(session_id))
    except (TypeError, ValueError, AttributeError):
        return None
    found = _SESSION_USER_SUBSCRIPTION.fetch_one(
        [(_SUB_STATUS, SubscriptionStatus.ACTIVE.value), (_SUB_END, timezone.now()), (_SESSION_PK, pk)]
    )
    if found is None:
        return None
    session, user, subscription, plan = found
    _SESSION_USER_FIELD.set_cached_value(session, user)
    if subscription is not None:
        _SUB_PLAN.set_cached_value(subscription, plan)
    setattr(session, AUTHENTICATED_WITH, subscription)
    return cast(AuthSession, session)


class TokenSessionSubscriptionAuthentication(TokenSessionAuthentication):
    def load_session(self, session_id: object) -> AuthSession | None:
        return session_with_user_and_subscription(session_id)
