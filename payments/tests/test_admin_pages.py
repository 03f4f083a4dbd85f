"""The Django admin's payment pages: rupees, the columns staff scan for, and a refund that asks first."""

import re

import pytest
from django.utils import timezone

from accounts.models import AuditLog
from payments.models import Payment, PaymentStatus, Refund
from payments.tests.factories import PaymentFactory
from staff.tests.helpers import staff_admin_client
from subscriptions.models import Grant, GrantState
from subscriptions.selectors import subscription_get_active

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/payments/payment/"


@pytest.fixture
def staff_client():
    return staff_admin_client()


def _columns(html: str) -> list[str]:
    """The changelist's column names, in order (from the header cells' `column-<name>` classes)."""
    return re.findall(r'<th scope="col" class="[^"]*column-([a-z_]+)', html)


def test_payment_list_leads_with_status_user_amount_date_in_rupees(staff_client, plans):
    payment = PaymentFactory(plan=plans["premium_monthly"], amount_paise=29900)
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert _columns(html)[:4] == ["status", "user", "amount", "created_at"]
    assert "₹299.00" in html
    assert "29900" not in html
    assert f'<td class="field-user nowrap">{payment.user}</td>' in html


def test_payment_list_shortens_long_order_ids_and_search_finds_the_full_id(staff_client, plans):
    payment = PaymentFactory(plan=plans["premium_monthly"], merchant_order_id="M360_" + "a1b2c3d4" + "e" * 24)
    html = staff_client.get(CHANGELIST).content.decode()
    order_cell = re.search(r'<td class="field-order">(.*?)</td>', html).group(1)
    assert ">M360_a1b2c3d4…<" in order_cell
    assert payment.merchant_order_id not in order_cell
    found = staff_client.get(CHANGELIST, {"q": payment.merchant_order_id}).content.decode()
    assert "M360_a1b2c3d4…" in found


def test_payment_change_page_shows_the_amount_in_rupees(staff_client, plans):
    payment = PaymentFactory(plan=plans["premium_monthly"], amount_paise=129950)
    html = staff_client.get(f"{CHANGELIST}{payment.pk}/change/").content.decode()
    assert "₹1,299.50" in html
    assert "129950" not in html  # the paise column itself is not shown


def _action(client, payments, **extra):
    return client.post(
        CHANGELIST, {"action": "refund_selected", "_selected_action": [str(p.pk) for p in payments], **extra}
    )


def test_refund_action_opens_a_confirmation_page_and_sends_nothing(staff_client, paid, simulator):
    response = _action(staff_client, [paid])

    assert response.status_code == 200
    html = response.content.decode()
    assert "Confirm refund" in html
    assert paid.merchant_order_id in html
    assert paid.user.email in html
    assert paid.product_ref in html
    assert "₹299.00" in html
    # What the refund takes back (ledger rules): this payment's period, and access since nothing else is paid.
    assert f"Removes 30 days of {paid.product_ref} that this payment bought" in html
    assert "access ends at once" in html
    assert "All premium themed rooms" in html
    assert 'name="reason"' in html
    # Nothing happened yet: no refund row, no gateway refund, no audit row, access unchanged.
    assert not Refund.objects.exists()
    assert simulator.server.state.refunds == {}
    assert not AuditLog.objects.filter(action="payment.refund").exists()
    assert subscription_get_active(now=timezone.now(), user=paid.user) is not None


def test_confirming_without_a_reason_shows_the_page_again_and_sends_nothing(staff_client, paid, simulator):
    response = _action(staff_client, [paid], confirm="yes", reason="  ")
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not Refund.objects.exists()
    assert simulator.server.state.refunds == {}


def test_confirmed_refund_goes_to_phonepe_with_the_reason(staff_client, paid, simulator):
    response = _action(staff_client, [paid], confirm="yes", reason="Charged twice")

    assert response.status_code == 302
    refund = Refund.objects.get(payment=paid)
    assert refund.reason == "Charged twice"
    assert refund.requested_by == staff_client.user
    assert refund.merchant_refund_id in simulator.server.state.refunds
    audit = AuditLog.objects.get(action="payment.refund", actor=staff_client.user)
    assert audit.changes["after"]["reason"] == "Charged twice"


def test_confirmation_page_says_a_payment_whose_period_is_over_takes_nothing_back(staff_client, paid):
    Grant.objects.filter(payment=paid).update(state=GrantState.ENDED)
    html = _action(staff_client, [paid]).content.decode()
    assert "Nothing: no period this payment bought is still held" in html
    assert "access ends at once" not in html


def test_confirmation_page_says_other_paid_periods_stay(
    staff_client, paid, auth_client, simulator, create_payment, post_callback
):
    second = create_payment(auth_client)
    simulator.complete(second["transactionId"])
    post_callback(simulator.order_callback_body(second["transactionId"], "COMPLETED"))
    second_payment = Payment.objects.get(pk=second["id"])

    html = _action(staff_client, [second_payment]).content.decode()

    # The second month is queued behind the first: refunding it removes its 30 days, access stays.
    assert "Removes 30 days of premium_monthly that this payment bought" in html
    assert "other paid periods stay" in html
    assert "access ends at once" not in html


def test_confirmation_page_skips_payments_that_cannot_be_refunded(staff_client, plans):
    pending = PaymentFactory(plan=plans["premium_monthly"], status=PaymentStatus.PENDING)
    html = _action(staff_client, [pending]).content.decode()
    assert "Not refundable" in html
    assert 'id="confirm-refund"' not in html


def test_refund_list_leads_with_status_the_payer_and_the_amount(staff_client, plans):
    payment = PaymentFactory(plan=plans["premium_monthly"], amount_paise=29900, status=PaymentStatus.REFUNDED)
    Refund.objects.create(
        payment=payment, merchant_refund_id="R360_" + "f" * 32, amount_paise=29900, status="completed"
    )
    html = staff_client.get("/admin/payments/refund/").content.decode()
    assert _columns(html)[:4] == ["status", "user", "amount", "created_at"]
    assert f'<td class="field-user">{payment.user}</td>' in html
    assert "₹299.00" in html
    assert ">R360_ffffffff…<" in html
