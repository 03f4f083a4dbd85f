"""The Django admin's plan pages show and take prices in rupees; the database keeps exact paise."""

import pytest

from accounts.models import AuditLog
from staff.tests.helpers import staff_admin_client
from subscriptions.models import Plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    return staff_admin_client()


@pytest.fixture
def plan():
    return Plan.objects.create(
        code="rupee_plan", name="Rupee", display_name="Rupee plan", amount_paise=29900, period="month", duration_days=30
    )


def _form(plan, amount):
    return {
        "code": plan.code,
        "name": plan.name,
        "display_name": plan.display_name,
        "amount_paise": amount,
        "currency": "INR",
        "period": plan.period,
        "duration_days": plan.duration_days,
        "type": plan.type,
        "features": "[]",
        "is_active": "on",
        "display_order": 0,
    }


def test_plan_list_and_form_show_rupees(staff_client, plan):
    listing = staff_client.get("/admin/subscriptions/plan/").content.decode()
    assert "₹299.00" in listing
    assert ">29900<" not in listing
    form = staff_client.get(f"/admin/subscriptions/plan/{plan.pk}/change/").content.decode()
    assert 'value="299.00"' in form
    assert "Price (₹)" in form


@pytest.mark.parametrize(("typed", "paise"), [("299", 29900), ("349.50", 34950), ("₹1,299.99", 129999)])
def test_a_price_typed_in_rupees_is_stored_as_exact_paise(staff_client, plan, typed, paise):
    response = staff_client.post(f"/admin/subscriptions/plan/{plan.pk}/change/", _form(plan, typed))
    assert response.status_code == 302, response.content
    plan.refresh_from_db()
    assert plan.amount_paise == paise


@pytest.mark.parametrize("typed", ["2.999", "-1", "free", "1e2"])
def test_a_price_that_is_not_whole_paise_is_refused_and_nothing_changes(staff_client, plan, typed):
    response = staff_client.post(f"/admin/subscriptions/plan/{plan.pk}/change/", _form(plan, typed))
    assert response.status_code == 200
    assert "at most two decimals" in response.content.decode()
    plan.refresh_from_db()
    assert plan.amount_paise == 29900
    assert not AuditLog.objects.filter(resource_type="plan").exists()


def test_a_plan_payments_refer_to_cannot_be_deleted_and_its_code_cannot_change(staff_client, plan):
    from payments.tests.factories import PaymentFactory

    PaymentFactory(plan=plan, status="pending")

    page = staff_client.post(f"/admin/subscriptions/plan/{plan.pk}/delete/", {"post": "yes"})
    assert page.status_code == 200  # the "cannot delete" page, naming the payment
    assert "Payment M360-TEST-" in page.content.decode()
    listing = staff_client.post(
        "/admin/subscriptions/plan/", {"action": "delete_selected", "_selected_action": [plan.pk], "post": "yes"}
    )
    assert listing.status_code == 200
    assert Plan.objects.filter(pk=plan.pk).exists()

    response = staff_client.post(f"/admin/subscriptions/plan/{plan.pk}/change/", {**_form(plan, "299"), "code": "x"})
    assert response.status_code == 302, response.content
    plan.refresh_from_db()
    assert plan.code == "rupee_plan"


def test_a_plan_no_payment_refers_to_can_be_deleted(staff_client, plan):
    response = staff_client.post(f"/admin/subscriptions/plan/{plan.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Plan.objects.filter(pk=plan.pk).exists()
