"""Django admin lists lead with what staff scan for (status, user, amount, date) and shorten long ids."""

import re
import uuid

import pytest

from accounts.models import AuditLog
from accounts.tests.factories import UserFactory
from manas360.admin_display import short_id
from staff.tests.helpers import staff_admin_client
from subscriptions.tests.factories import PlanFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    return staff_admin_client()


def _columns(html: str) -> list[str]:
    return re.findall(r'<th scope="col" class="[^"]*column-([a-z_]+)', html)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("3f2a9c1e-5b7d-4e0f-9a1b-2c3d4e5f6a7b", "3f2a9c1e…"),
        ("M360_9d0c44e1ab5f4c7e8d9a0b1c2d3e4f5a", "M360_9d0c44e1…"),
        ("short", "short"),
        ("R360_0123456789abcdef", "R360_01234567…"),
        ("", ""),
        (None, ""),
    ],
)
def test_short_id(value, shown):
    assert short_id(value) == shown


def test_subscription_list_leads_with_status_and_user_and_shortens_the_id(staff_client):
    subscription = SubscriptionFactory(user=UserFactory(), plan=PlanFactory(), status="active")
    html = staff_client.get("/admin/subscriptions/subscription/").content.decode()
    assert _columns(html)[:3] == ["status", "user", "plan"]
    assert f">{str(subscription.pk)[:8]}…<" in html
    assert f">{subscription.pk}<" not in html


def test_audit_log_list_shortens_resource_and_request_ids(staff_client):
    resource_id, request_id = str(uuid.uuid4()), uuid.uuid4().hex
    AuditLog.objects.create(
        action="user.update", resource_type="user", resource_id=resource_id, request_id=request_id, changes={}
    )
    html = staff_client.get("/admin/accounts/auditlog/").content.decode()
    assert f'<td class="field-resource_ref">{resource_id[:8]}…</td>' in html
    assert f'<td class="field-request_ref">{request_id[:8]}…</td>' in html
    assert resource_id not in html
