"""Writes through the Django admin site leave audit rows (docs/api.md §7), and history cannot be deleted there."""

import json

import pytest

from accounts.models import AuditLog, RolePermission
from accounts.roles import Permission, Role
from manas360.money import paise_to_rupees
from staff.tests.helpers import staff_admin_client
from subscriptions.models import Plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    return staff_admin_client()


def _plan_form(plan: Plan, **changes) -> dict:
    form = {
        "code": plan.code,
        "name": plan.name,
        "display_name": plan.display_name,
        "description": plan.description,
        "amount_paise": f"{paise_to_rupees(plan.amount_paise)}",  # the form takes rupees
        "currency": plan.currency,
        "period": plan.period,
        "duration_days": plan.duration_days or "",
        "type": plan.type,
        "features": json.dumps(plan.features),
        "is_active": "on" if plan.is_active else "",
        "is_featured": "on" if plan.is_featured else "",
        "display_order": plan.display_order,
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value != ""}


def test_plan_price_change_in_the_admin_is_audited_with_before_and_after(staff_client):
    plan = Plan.objects.create(
        code="audit_plan", name="Audit", display_name="Audit plan", amount_paise=29900, period="month", duration_days=30
    )
    form = _plan_form(plan, amount_paise="349.00")
    response = staff_client.post(f"/admin/subscriptions/plan/{plan.pk}/change/", form)
    assert response.status_code == 302, response.content

    plan.refresh_from_db()
    assert plan.amount_paise == 34900
    row = AuditLog.objects.get(action="plan.update")
    assert row.actor_id == staff_client.user.pk
    assert row.resource_id == str(plan.pk)
    assert row.changes == {"before": {"amount_paise": 29900}, "after": {"amount_paise": 34900}}


def test_saving_an_unchanged_plan_writes_no_audit_row(staff_client):
    plan = Plan.objects.create(code="still", name="Still", display_name="Still", amount_paise=100, period="month")
    response = staff_client.post(f"/admin/subscriptions/plan/{plan.pk}/change/", _plan_form(plan))
    assert response.status_code == 302
    assert not AuditLog.objects.filter(resource_type="plan").exists()


def test_role_permission_revoked_in_the_admin_is_audited(staff_client):
    grant = RolePermission.objects.get(role=Role.THERAPIST, permission=Permission.VIEW_PATIENTS)
    response = staff_client.post(f"/admin/accounts/rolepermission/{grant.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302

    assert not RolePermission.objects.filter(pk=grant.pk).exists()
    row = AuditLog.objects.get(action="rolepermission.delete")
    assert row.changes["before"] == {"id": grant.pk, "role": "therapist", "permission": "view_patients"}
    assert row.changes["after"] == {}


@pytest.mark.parametrize("model_path", ["rooms/roomsession", "accounts/authsession"])
def test_session_history_cannot_be_deleted_in_the_admin(staff_client, model_path):
    changelist = staff_client.get(f"/admin/{model_path}/")
    assert changelist.status_code == 200
    assert b'value="delete_selected"' not in changelist.content
