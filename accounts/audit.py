"""The append-only audit log service (docs/api.md §7, §11).

Every admin write, every security-relevant auth event and every payment state
change calls `audit_log_record`. Rows are never updated or deleted through the
application: the model refuses it, and the Django admin shows them read-only.
"""

from typing import Any

from django.http import HttpRequest

from accounts.models import AuditLog, User
from manas360.api.client_ip import client_ip
from manas360.request_context import current_request_id


def audit_log_record(
    *,
    action: str,
    actor: "User | None" = None,
    resource_type: str = "",
    resource_id: object = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
    actor_email: str | None = None,
) -> AuditLog:
    """Write one audit row. `before`/`after` hold only the fields that changed (no secrets)."""
    return AuditLog.objects.create(
        action=action,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_email=actor_email if actor_email is not None else (getattr(actor, "email", None) or ""),
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else "",
        changes={"before": before or {}, "after": after or {}},
        ip_address=ip_address,
        user_agent=(user_agent or "")[:500],
        request_id=current_request_id(),
    )


def audit_context_from_request(request: HttpRequest) -> dict[str, Any]:
    """The IP and user agent of a request, for views to pass into services."""
    return {"ip_address": client_ip(request), "user_agent": request.headers.get("User-Agent", "")}
